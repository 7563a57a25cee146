"""Grading probes for strategy_matrix_pytorch.ipynb (see tlhelpers/grading).

Each probe runs in the student's kernel after the notebook and returns only what the student's code gives on
hidden inputs; the grader compares it with the same probe's value on the solution notebook.
"""
from tlhelpers.grading.probes import probe


@probe("sm_torch_scenarios_tests", what="the strategy chosen for each scenario")
def scenario_choices():
    return {str(name): scenario_strategy[name] for name in scenario_strategy}


# margins are differences of means of accuracies in [0, 1]: float32 means are within 1e-7 of the key, and the wrong
# answers (median, max, margin over the last, ties broken otherwise) differ by 1e-3 or more
@probe("sm_torch_winner_tests", rtol=0.0, atol=1e-6, what="(best strategy, margin) read off hidden quadrants")
def quadrant_winners():
    import numpy as np

    from tlhelpers import strategy as st

    rng = np.random.default_rng(4041)
    answers = []
    for _ in range(6):
        matrix = {(size, similarity): {s: rng.uniform(0.5, 1.0, rng.integers(2, 5)).tolist() for s in st.STRATEGIES}
                  for size in ("small", "large") for similarity in ("similar", "different")}
        for size, similarity in matrix:
            best, margin = quadrant_winner(matrix, size, similarity)
            answers.append([best, margin])
    # A quadrant with only two strategies measured, and a four-way tie (goes to the first of st.STRATEGIES).
    answers.append(list(quadrant_winner({("small", "different"): {"fine_tune_all": [0.7, 0.9],
                                                                  "feature_extraction": [0.75, 0.75]}},
                                        "small", "different")))
    answers.append(list(quadrant_winner({("large", "different"): {s: [0.9, 0.8] for s in st.STRATEGIES}},
                                        "large", "different")))
    return answers


@probe("sm_torch_freeze_first_n_tests", what="which parameters are trainable after freeze_first_n, and its errors")
def frozen_blocks():
    from tlhelpers import strategy_experiments as sx

    answers = []
    for n in range(7):
        for widths in (sx.DEFAULT_WIDTHS, (4, 4, 8)):
            model = sx.small_cnn(10, widths=widths, pool_after=(0,), seed=1)
            last = len(model.features) - 1
            for p in list(model.features[last].parameters()) + list(model.head.parameters()):
                p.requires_grad_(False)          # frozen beforehand: must end trainable unless covered by n
            if n > len(model.features):
                continue
            returned = freeze_first_n(model, n)
            answers.append({
                "model": {name: bool(p.requires_grad) for name, p in model.named_parameters()},
                "returned": {name: bool(p.requires_grad) for name, p in returned.named_parameters()},
            })
    for bad in (-1, 7):
        try:
            freeze_first_n(sx.small_cnn(5), bad)
            answers.append("no error")
        except Exception as error:  # the kind of error is what is graded
            answers.append(type(error).__name__)
    return answers


@probe("sm_torch_negative_tests", what="the negative-transfer verdicts (paired t interval) on hidden accuracies")
def negative_transfer_verdicts():
    import numpy as np

    rng = np.random.default_rng(4404)
    answers = [type(is_negative_transfer([0.90, 0.91, 0.92], [0.97, 0.98, 0.99])).__name__]
    for _ in range(30):
        n = int(rng.integers(2, 6))
        transfer = rng.normal(0.9, rng.uniform(0.001, 0.03), n)
        scratch = transfer + rng.normal(rng.uniform(-0.03, 0.05), rng.uniform(0.001, 0.03), n)
        answers.append(bool(is_negative_transfer(transfer.tolist(), scratch.tolist())))
        for confidence in (0.8, 0.99):
            answers.append(bool(is_negative_transfer(transfer.tolist(), scratch.tolist(), confidence=confidence)))
    try:
        is_negative_transfer([0.9, 0.8], [0.9, 0.8, 0.7])
        answers.append("no error")
    except Exception as error:  # the kind of error is what is graded
        answers.append(type(error).__name__)
    return answers
