"""nbgrader settings for every single-user server on the class's JupyterHub (on their JUPYTER_CONFIG_PATH).

The course id, and the shared exchange that Assignment List fetches from and submits to. The exchange is a folder
every account can reach (nbgrader's documented set-up: `mkdir -p /srv/nbgrader/exchange` and
`chmod ugo+rw /srv/nbgrader/exchange`); nbgrader makes the course's inbound folder write-only for students.
"""

import os

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

c.CourseDirectory.course_id = "transfer-learning"
c.Exchange.root = os.environ.get("TLHELPERS_EXCHANGE", "/srv/nbgrader/exchange")
