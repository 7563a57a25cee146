"""JupyterHub for a class on one server: one Unix account per student, nbgrader's exchange, no instructor tools
for students. `jupyterhub -f tlhelpers/jupyter/hub/jupyterhub_config.py`, as root (the hub starts each user's
server as that user). tests/test_hub_class.py runs exactly this file on loopback.

Site settings come from the environment (defaults for a real server in brackets):

    TLHUB_IP, TLHUB_PORT        where the proxy listens [0.0.0.0, 8000]; put TLS in front, or set ssl_cert/key
    TLHUB_STATE                 the hub's database, cookie secret and proxy pid file [/srv/jupyterhub]
    TLHUB_PROXY                 the configurable-http-proxy command [configurable-http-proxy on PATH]
    TLHUB_INSTRUCTORS           accounts that get the instructor's lab (Formgrader) and hub admin, comma-separated
    TLHUB_STUDENTS              accounts allowed to log in as students, comma-separated
    TLHUB_STUDENT_COURSE        the student's copy (`make student-copy`): its tlhelpers is on students' PYTHONPATH
    TLHUB_INSTRUCTOR_COURSE     the instructor's course folder, relative to their home [course]
    TLHELPERS_EXCHANGE          nbgrader's exchange [/srv/nbgrader/exchange]
    TLHELPERS_PROFILE           the notebooks' profile for every kernel [unset: the notebooks' default, ci]
    TLHUB_USER_PASSWORD, TLHUB_ADMIN_PASSWORD   only for tests: a shared password instead of the accounts' own (PAM)
"""

import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 - provided by JupyterHub when it loads this file

HERE = Path(__file__).resolve().parent
STUDENT_SETTINGS = HERE.parent / "student"          # page_config.json + jupyter_server_config.json: no Formgrader
VENV_BIN = str(Path(sys.executable).parent)         # the course environment the hub itself runs in


def _names(variable: str) -> set[str]:
    return {n.strip() for n in os.environ.get(variable, "").split(",") if n.strip()}


instructors, students = _names("TLHUB_INSTRUCTORS"), _names("TLHUB_STUDENTS")
state = Path(os.environ.get("TLHUB_STATE", "/srv/jupyterhub"))

c.JupyterHub.ip = os.environ.get("TLHUB_IP", "0.0.0.0")
c.JupyterHub.port = int(os.environ.get("TLHUB_PORT", "8000"))
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ.get("TLHUB_HUB_PORT", "8081"))
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(state / "jupyterhub-proxy.pid")
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ.get('TLHUB_PROXY_API_PORT', '8001')}"
c.ConfigurableHTTPProxy.command = [os.environ.get("TLHUB_PROXY", "configurable-http-proxy")]
c.JupyterHub.cleanup_servers = True     # stopping the hub stops every user's server

# Who may log in. The accounts are real Unix users: LocalProcessSpawner starts each server as that user, so file
# permissions keep students out of each other's homes, the instructor's course (solutions, gradebook) and the
# exchange's inbound folder.
c.Authenticator.allowed_users = instructors | students
c.Authenticator.admin_users = instructors
if os.environ.get("TLHUB_USER_PASSWORD"):
    c.JupyterHub.authenticator_class = "shared-password"   # tests: one password instead of PAM
    c.SharedPasswordAuthenticator.user_password = os.environ["TLHUB_USER_PASSWORD"]
    c.SharedPasswordAuthenticator.admin_password = os.environ["TLHUB_ADMIN_PASSWORD"]
else:
    c.JupyterHub.authenticator_class = "pam"

from jupyterhub.spawner import LocalProcessSpawner  # noqa: E402 - after the settings it depends on


class CourseSpawner(LocalProcessSpawner):
    """LocalProcessSpawner that says in plain words why a server cannot start (the hub shows it on the page)."""

    async def start(self):
        import pwd

        try:
            pwd.getpwnam(self.user.name)
        except KeyError:
            from tornado import web

            message = (f"Your server could not start: this machine has no Unix account named {self.user.name!r}. "
                       "Ask your instructor to create it; nothing of yours was changed or lost.")
            error = web.HTTPError(500, message)   # an HTTPError reaches the page (others become "Unhandled error")
            error.jupyterhub_message = message     # the text JupyterHub's error page shows
            raise error from None
        return await super().start()


c.JupyterHub.spawner_class = CourseSpawner
c.Spawner.cmd = [os.path.join(VENV_BIN, "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.args = ["--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
# A busy 2-core machine needs more than the defaults (60 s / 30 s) to start JupyterLab.
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 120
c.Spawner.mem_limit = os.environ.get("TLHUB_MEM_LIMIT") or None   # advisory with LocalProcessSpawner


def _environment(spawner) -> None:
    """Each user's server: the course Python first; students get the student settings and the student's copy of
    tlhelpers, the instructor their course folder's nbgrader_config.py (Formgrader works there)."""
    name = spawner.user.name
    env = {"PATH": os.pathsep.join([VENV_BIN, "/usr/local/bin", "/usr/bin", "/bin"]),
           "TLHELPERS_EXCHANGE": os.environ.get("TLHELPERS_EXCHANGE", "/srv/nbgrader/exchange")}
    if os.environ.get("TLHELPERS_PROFILE"):
        env["TLHELPERS_PROFILE"] = os.environ["TLHELPERS_PROFILE"]
    if name in instructors:
        course = os.path.join(os.path.expanduser(f"~{name}"), os.environ.get("TLHUB_INSTRUCTOR_COURSE", "course"))
        env["JUPYTER_CONFIG_PATH"] = course
        env["PYTHONPATH"] = course
        spawner.notebook_dir = course
    else:
        env["JUPYTER_CONFIG_PATH"] = os.pathsep.join([str(STUDENT_SETTINGS), str(HERE)])
        if os.environ.get("TLHUB_STUDENT_COURSE"):
            env["PYTHONPATH"] = os.environ["TLHUB_STUDENT_COURSE"]
    spawner.environment.update(env)


c.Spawner.pre_spawn_hook = _environment
