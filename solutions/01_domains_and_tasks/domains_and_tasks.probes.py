"""Grading probes for domains_and_tasks.ipynb (how they are used: tlhelpers/grading/probes.py).

Each probe runs in the student's sandboxed kernel right after the test cell it names and returns plain data; the
grader compares it with what the same probe returns on the solution. Judges run in the grader, on plain data only.
"""

from __future__ import annotations

import numpy as np

from tlhelpers.grading.probes import probe


@probe("pad_from_error_tests", rtol=1e-5, atol=1e-6, what="proxy_a_distance_from_error on errors from 0 to 1")
def pad_values():
    import numpy as np
    errs = [0.0, 0.25, 0.5, 0.6, 0.75, 1.0] + np.random.default_rng(101).uniform(0.0, 1.0, 25).tolist()
    return [proxy_a_distance_from_error(e) for e in errs]


# Tolerance from the arithmetic: every kernel value lies in [0, 1] and the MMD is a sum of three means of them, so a
# correct answer computed in float32 (machine epsilon 1.2e-7; distances of 784-pixel images lose a few more digits)
# is within about 1e-6 of the float64 key in absolute terms; the wrong answers students write (the unbiased
# estimate, sqrt, a missing factor 2, the wrong gamma) are off by more than 1e-3. The visible and hidden tests use
# the same tolerance (rtol 1e-5, atol 1e-6).
@probe("mmd_rbf_squared_tests", rtol=1e-5, atol=1e-6, what="mmd_rbf_squared on random samples and images")
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


def _label_shift_inputs(seed):
    """Labels and requests the student cannot predict (drawn from the grader's seed), in the kernel and the judge.

    y: three classes of 45-70 examples each, in random order (so "the first k of each class" is no sample);
    cases: (priors, n) to draw; draws: 40 random_state values for the same request (is the draw random?);
    twice: a random_state asked twice (is it reproducible?); too_few: a request class 2 cannot satisfy.
    """
    import numpy as np
    rng = np.random.default_rng(seed)
    sizes = rng.integers(45, 71, 3)
    y = rng.permutation(np.repeat(np.arange(3), sizes))
    cases = [([0.5, 0.3, 0.2], 45), ([0.0, 0.25, 0.75], 40), ([0.34, 0.33, 0.33], 91), ([1.0, 0.0, 0.0], 45)]
    cases += [(rng.dirichlet([2.0, 2.0, 2.0]).tolist(), int(rng.integers(20, 45))) for _ in range(2)]
    draws = rng.choice(2**31, 40, replace=False).tolist()
    twice = int(rng.integers(2**31))
    too_few = int(sizes[2] / 0.8) + 5
    return y, cases, draws, twice, too_few


def _subset_problem(indices, y, priors, n):
    """None when indices is a valid draw of n distinct examples of y with class counts within 1 of priors * n."""
    if not isinstance(indices, list) or len(indices) != n:
        return f"expected {n} indices"
    if not all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < len(y) for i in indices):
        return "indices must be integers into y"
    if len(set(indices)) != n:
        return "the subset repeats indices"
    counts = np.bincount(y[indices], minlength=3)
    if np.any(np.abs(counts - np.asarray(priors) * n) > 1):
        return f"class counts {counts.tolist()} are not within 1 of priors * n"
    return None


def _judge_subsets(got, expected, seed):
    """Judged on labels and requests drawn from the grader's seed: every subset valid (one per request), a repeated
    random_state reproducible, the 40 draws random (each example included about as often as its class's share, by a
    chi-square statistic a fixed or merely reshuffled subset fails by far), and too few examples a ValueError."""
    y, cases, draws, twice, too_few = _label_shift_inputs(seed)
    if not isinstance(got, dict) or set(got) != {"subsets", "twice", "draws", "too_few"}:
        return "the answer has the wrong form"
    if not isinstance(got["subsets"], list) or len(got["subsets"]) != len(cases):
        return "the answer has the wrong form"
    for (priors, n), indices in zip(cases, got["subsets"]):
        problem = _subset_problem(indices, y, priors, n)
        if problem:
            return f"priors {[round(p, 3) for p in priors]}, n={n}: {problem}"
    first, second = got["twice"] if isinstance(got["twice"], list) and len(got["twice"]) == 2 else (None, None)
    if _subset_problem(first, y, cases[0][0], 45) or first != second:
        return "two calls with the same random_state differ: draw with np.random.default_rng(random_state)"
    if not isinstance(got["draws"], list) or len(got["draws"]) != len(draws):
        return "the answer has the wrong form"
    included = np.zeros(len(y))
    for indices in got["draws"]:
        problem = _subset_problem(indices, y, cases[0][0], 45)
        if problem:
            return f"priors [0.5, 0.3, 0.2], n=45: {problem}"
        included[indices] += 1
    if len({frozenset(d) for d in got["draws"]}) < len(draws) - 1:
        return "different random_state values give the same subset: the draw must be random"
    statistic, cells = 0.0, 0
    for c in range(3):
        members = np.flatnonzero(y == c)
        share = included[members].sum() / (len(draws) * len(members))
        if 0 < share < 1:
            expected_count = len(draws) * share
            statistic += float(((included[members] - expected_count) ** 2).sum() / (expected_count * (1 - share)))
            cells += len(members)
    if statistic > cells + 6 * np.sqrt(2 * cells) + 10:
        return "the subsets are not random draws: some examples are picked far more often than others of their class"
    return None if got["too_few"] == "ValueError" else \
        f"asking for more examples of a class than it has should raise ValueError, not {got['too_few']}"


@probe("label_shifted_indices_tests", judge=_judge_subsets, what="label_shifted_indices",
       uses=(_label_shift_inputs,))
def label_shift_subsets(seed):
    import numpy as np
    y, cases, draws, twice, too_few = _label_shift_inputs(seed)
    try:
        label_shifted_indices(y.copy(), [0.1, 0.1, 0.8], too_few, random_state=0)
        too_few_error = "no error"
    except Exception as error:
        too_few_error = type(error).__name__
    return {
        "subsets": [label_shifted_indices(y.copy(), np.array(p), n, random_state=3) for p, n in cases],
        "twice": [label_shifted_indices(y.copy(), [0.5, 0.3, 0.2], 45, random_state=twice) for _ in range(2)],
        "draws": [label_shifted_indices(y.copy(), [0.5, 0.3, 0.2], 45, random_state=r) for r in draws],
        "too_few": too_few_error,
    }


@probe("name_the_case_tests", what="the kind of shift named for each case")
def case_names_answer():
    return case_names
