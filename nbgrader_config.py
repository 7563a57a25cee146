"""nbgrader configuration for the course.

source = solutions/ (the instructor's notebooks, with solutions and hidden tests), release = notebooks/ (what
students get). Submissions, autograded copies, feedback and the gradebook live under build/, which git ignores.
The paths are relative to this file, so a copy of it in another folder (as the tests make) is a course there.
"""

import os

from tlhelpers import layout

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

root = os.path.dirname(os.path.abspath(__file__))
course = layout.CourseLayout(root)  # every path and the course id come from tlhelpers.layout, as the grader's do
c.CourseDirectory.root = root
c.CourseDirectory.course_id = layout.COURSE_ID
c.CourseDirectory.source_directory = layout.SOURCE
c.CourseDirectory.release_directory = layout.RELEASE
c.CourseDirectory.submitted_directory = layout.SUBMITTED
c.CourseDirectory.autograded_directory = layout.AUTOGRADED
c.CourseDirectory.feedback_directory = layout.FEEDBACK
# The gradebook: SQLite by default (one writer); parallel grading points TLHELPERS_GRADEBOOK_URL at PostgreSQL.
c.CourseDirectory.db_url = course.gradebook_url()
# *.probes.py: the grading probes (tlhelpers.grading) stay with the instructor, like hidden tests.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*", "*.probes.py"]

# A local exchange for `make lab`: it releases each assignment here so that nbgrader's Assignments panel in
# JupyterLab lists the course, and a student's "Submit" lands in build/exchange/<course>/inbound for
# `nbgrader collect`. The student's copy of an assignment is its folder in notebooks/. On a class's JupyterHub,
# TLHELPERS_EXCHANGE names the shared exchange instead (see the README, "Run it for a class").
if os.environ.get("TLHELPERS_EXCHANGE"):
    c.Exchange.root = os.environ["TLHELPERS_EXCHANGE"]
else:
    c.Exchange.root = str(course.exchange())
    c.Exchange.assignment_dir = str(course.release())

# The stub that replaces a solution in the release: a clear NotImplementedError, so that running an unanswered
# exercise tells the student what to do.
c.ClearSolutions.code_stub = {
    "python": "# YOUR CODE HERE\nraise NotImplementedError('Write your answer here, then run this cell again.')",
}

# Late work (README, "Run it for a class"): the due date is the assignment's entry in the gradebook (`nbgrader db
# assignment add A --duedate="2026-12-14 23:59:00 UTC"`, extensions in Formgrader). The course's grader applies
# nbgrader's late-submission plugin after scoring: "none" grades late work in full and marks it late in the
# feedback and the instructor's summary; "zero" scores it 0 (kept in the gradebook as nbgrader's late penalty);
# a plugin class of your own (c.AssignLatePenalties.plugin_class) can take e.g. 10 % a day.
c.LateSubmissionPlugin.penalty_method = "none"

# nbgrader's default is 30 s per cell; the course's cells train small models, so allow more. A dead kernel or
# a cell over this limit fails the test cells that did not run.
c.Execute.timeout = 300
c.Execute.interrupt_on_timeout = True
