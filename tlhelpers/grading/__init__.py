"""Trusted autograding: nbgrader releases, collects and keeps the gradebook; this package decides the scores.

Why not nbgrader's own scoring: nbgrader scores a test cell from what the student's kernel reports, and that kernel
runs student code with the grader's rights, so a submission can make failing tests look passed or edit the
gradebook. Here the student's notebook runs in a sandbox (:mod:`.sandbox`), grading *probes* written by the
instructor (:mod:`.probes`) ask it for plain data only, and the grader compares that data with the answers the
solution gives, in its own process (:mod:`.scoring`). Nothing the student's code can touch decides a score.

Modules: probes (the probe files and the comparison), assemble (the notebook that gets executed), sandbox (bubblewrap),
_execute (runs inside the sandbox), key (expected answers from the solution, cached), scoring, gradebook
(nbgrader's database), collect, feedback, cli (``python -m tlhelpers.grading``).
"""
