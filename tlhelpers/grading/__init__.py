"""Trusted autograding: nbgrader releases, collects and keeps the gradebook; this package decides the scores.

Why not nbgrader's own scoring: nbgrader scores a test cell from what the student's kernel reports, and that kernel
runs student code with the grader's rights, so a submission can make failing tests look passed or edit the
gradebook. Here the student's notebook runs in a sandbox (:mod:`.sandbox`), grading *probes* written by the
instructor (:mod:`.probes`) ask it for plain data only, and the grader compares that data with the answers the
solution gives, in its own process (:mod:`.scoring`). Nothing the student's code can touch decides a score.

Modules: limits (every cap, in one place), probes (the probe files, the kernel-side reporter and the comparison),
judges (judges that probe files share, run in the grader: the held-out accuracy of a trained model),
assemble (the notebook that gets executed), sandbox (bubblewrap), _execute (runs inside the sandbox), scoring
(answer keys from the solution, cached by SHA-256, and the score of one notebook), gradebook (nbgrader's database),
collect (submissions into build/submitted), runner (one student or all, in parallel workers), feedback (the HTML
page), release (checks the committed release against a fresh one), ``__main__`` (``python -m tlhelpers.grading``).
Paths come from :class:`tlhelpers.layout.CourseLayout`.

Threats, the defence against each, and the test that checks it (``adv:`` a submission in
``tests/test_grading_adversarial.py``, which must get exactly its honest score; ``units:`` a test in
``tests/test_grading_units.py``; ``forgery:`` a submission in ``tests/test_grading_forgery.py``, on 01's real probes;
``tables:`` per exercise, wrong, forged and right-but-different answers; the same adversarial submissions graded by an
ordinary user, in a user namespace: ``tests/test_grading_unprivileged.py``):

================================  ==============================================  ================================
threat                            defence                                         test
================================  ==============================================  ================================
failing tests made to pass        verdicts come from probe data compared in the   adv: input_transformer,
(input transformers, run_code     grader's process with the solution's answers,   run_code_replaced,
replaced, exception handlers,     never from the kernel's success or failure      custom_exception_handler,
post-run hooks, error replies                                                     post_run_hook,
rewritten, numpy patched)                                                         error_replies_hidden,
                                                                                  monkeypatched_numpy
forged probe answers              a nonce per probe cell, only in its text; the   adv: equal_to_anything,
(printed lines, equal-to-         cell brings its own reporter (nothing in the    print_swallowed, wraps_reporter,
anything objects, the reporter    globals to wrap); answers reduced to plain      rewrites_probe_frame; forgery:
wrapped, the probe's frame        JSON data; a report is only ever the student's  frame_reacher, hook_forger,
rewritten, values the exercise    own answer: judged in the grader against the    reporter_wrapper; tables:
text gives away)                  key, or against what the grader computes from   tests/test_probe_tables.py
                                  a seed it drew (inputs and weights the student
                                  cannot predict); no count or shape alone earns
                                  points
expected values read (test        hidden inputs live only in the probe file; the  adv: reads_test_source,
source, solutions, probe files)   sandbox mounts tlhelpers/, never solutions/     reads_instructor_files
gradebook or other students'      nothing of the course in the sandbox, a         adv: writes_gradebook,
files written                     private /tmp, its own uid when run as root      plants_files
outliving the run (background     PID namespace (all dies with the run); limits   adv: background_process,
processes, fork bombs, endless    on processes, CPU, wall and cell time           fork_bomb, endless_loop,
loops, a kernel that exits)       (:class:`.limits.Limits`)                       kills_kernel, sys_exit
modules shadowed, files planted   only the assembled notebook is run, in a fresh  adv: shadow_module,
for later runs                    work folder; the environment is read-only       plants_files
the notebook edited (tests        only answer cells (by grade_id) come from the   adv: deletes_tests,
deleted, metadata forged, code    submission; every other cell from the release   forged_metadata; units:
outside answer cells)                                                             assemble_takes_only_answer_cells
huge or broken input (50 MB       the caps of :mod:`.limits` on notebook,         adv: huge_output,
output, huge notebooks, not a     answer and output size; what cannot be parsed   not_a_notebook; units:
notebook, hostile nesting)        scores 0 with a note                            read_submission, parse_report
grading code leaked into the      probe cells, and outputs quoting them, are      adv: leaks_probes; units:
feedback                          removed from the feedback notebook              without_probes
LMS zip paths outside the course  entries are read in memory, names only matched  units: collect_from_zip
================================  ==============================================  ================================
"""
