"""Grading probes for domains_and_tasks.ipynb (how they are used: tlhelpers/grading/probes.py).

Each probe runs in the student's sandboxed kernel right after the test cell it names and returns plain data; the
grader compares it with what the same probe returns on the solution. Judges run in the grader, on plain data only.
"""

from __future__ import annotations

import numpy as np

from tlhelpers.grading.probes import compare, probe


@probe("pad_from_error_tests", rtol=1e-6, atol=1e-9, what="proxy_a_distance_from_error on errors from 0 to 1")
def pad_values():
    import numpy as np
    errs = [0.0, 0.25, 0.5, 0.6, 0.75, 1.0] + np.random.default_rng(101).uniform(0.0, 1.0, 25).tolist()
    return [proxy_a_distance_from_error(e) for e in errs]


@probe("mmd_rbf_squared_tests", rtol=1e-6, atol=1e-10, what="mmd_rbf_squared on random samples and images")
def mmd_values():
    import numpy as np
    rng = np.random.default_rng(2024)
    X = rng.normal(size=(50, 3))
    values = [mmd_rbf_squared(X, X, 0.5), mmd_rbf_squared(np.zeros((1, 1)), np.ones((1, 1)), 0.5),
              mmd_rbf_squared(X, X[:30] + 1.0, 0.5), mmd_rbf_squared(X[:30] + 1.0, X, 0.5)]
    for m, n, d, gamma in [(40, 60, 5, 0.1), (80, 30, 10, 0.02), (25, 25, 784, 1 / 784), (7, 9, 2, 3.0)]:
        values.append(mmd_rbf_squared(rng.normal(size=(m, d)), rng.normal(0.3, 1.2, size=(n, d)), gamma))
    values.append(mmd_rbf_squared(X_ref[:40].reshape(40, -1), X_target[:60].reshape(60, -1), 0.01))
    return values


_LABELS = np.repeat(np.arange(3), [50, 40, 30])
_SUBSETS = [([0.5, 0.3, 0.2], 45), ([0.0, 0.25, 0.75], 40), ([0.34, 0.33, 0.33], 91), ([1.0, 0.0, 0.0], 50)]


def _judge_subsets(got, expected):
    """Any correct draw passes: valid distinct indices, class counts within 1 of priors * n, seeded, random."""
    if not isinstance(got, dict) or set(got) != set(expected):
        return "the answer has the wrong form"
    for (priors, n), indices in zip(_SUBSETS, got["subsets"]):
        if not isinstance(indices, list) or len(indices) != n:
            return f"priors {priors}, n={n}: expected {n} indices"
        if not all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < len(_LABELS) for i in indices):
            return f"priors {priors}, n={n}: indices must be integers in 0..{len(_LABELS) - 1}"
        if len(set(indices)) != n:
            return f"priors {priors}, n={n}: the subset repeats indices"
        counts = np.bincount(_LABELS[indices], minlength=3)
        if np.any(np.abs(counts - np.array(priors) * n) > 1):
            return f"priors {priors}, n={n}: class counts {counts.tolist()}, expected within 1 of priors * n"
    if got["seed_7_twice"][0] != got["seed_7_twice"][1]:
        return "two calls with random_state=7 differ: draw with np.random.default_rng(random_state)"
    if got["seeds_1_and_2"][0] == got["seeds_1_and_2"][1]:
        return "random_state=1 and random_state=2 give the same subset: the draw must be random"
    message = compare(got["too_few"], expected["too_few"], path="asking for 80 of a class with 30 examples raises")
    if message:
        return message
    return compare(got["balanced_fashion_counts"], expected["balanced_fashion_counts"],
                   path="class counts of a balanced subset of the Fashion-MNIST test set")


@probe("label_shifted_indices_tests", judge=_judge_subsets, what="label_shifted_indices")
def label_shift_subsets():
    import numpy as np
    y = np.repeat(np.arange(3), [50, 40, 30])
    subsets = [([0.5, 0.3, 0.2], 45), ([0.0, 0.25, 0.75], 40), ([0.34, 0.33, 0.33], 91), ([1.0, 0.0, 0.0], 50)]
    try:
        label_shifted_indices(y, [0.1, 0.1, 0.8], 100, random_state=0)
        too_few = "no error"
    except Exception as error:
        too_few = type(error).__name__
    balanced = label_shifted_indices(test_labels.astype(int), np.full(10, 0.1), 1000, random_state=0)
    return {
        "subsets": [label_shifted_indices(y, np.array(p), n, random_state=3) for p, n in subsets],
        "seed_7_twice": [label_shifted_indices(y, [0.5, 0.3, 0.2], 45, random_state=7) for _ in range(2)],
        "seeds_1_and_2": [label_shifted_indices(y, [0.5, 0.3, 0.2], 45, random_state=s) for s in (1, 2)],
        "too_few": too_few,
        "balanced_fashion_counts": np.bincount(test_labels[np.asarray(balanced)], minlength=10),
    }


@probe("name_the_case_tests", what="the kind of shift named for each case")
def case_names_answer():
    return case_names
