"""Jupyter settings for the kernels the tests' nbgrader commands start (tests/nbgrader_course.py puts this folder
first on JUPYTER_CONFIG_PATH), never for students or instructors.

Kernels talk to their clients over Unix sockets (IPC) instead of TCP ports: jupyter_client picks free TCP ports and
the kernel binds them a moment later, so on a busy test machine another process (a kernel or the hub of a test on
the other worker) could take one in between and the kernel died at start ('Address already in use'). Sockets in
the runtime folder cannot collide. IPC does not exist on Windows, so the course's own configs keep TCP.
"""

c = get_config()  # noqa: F821 - provided by Jupyter when it loads this file

c.KernelManager.transport = "ipc"
