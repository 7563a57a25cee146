"""Grading probes for domain_adaptation_pytorch.ipynb (how they are used: tlhelpers/grading/probes.py).

Each probe runs in the student's sandboxed kernel right after the test cell it names, calls the student's code on
inputs of its own (drawn here, not in the exercise text) and returns only what that code gave, as plain data. The
grader compares it with what the same probe returns on the solution, in its own process; the self-training judge
scores the student's target predictions against labels it regenerates itself, so no verdict comes from the kernel.
"""

from __future__ import annotations

import numpy as np

from tlhelpers.grading.probes import compare, probe


@probe("da_coral_tests", rtol=1e-4, atol=1e-4, what="coral_transform on random feature sets (float64 or float32 "
                                                    "arithmetic both pass)")
def coral_values():
    import numpy as np
    rng = np.random.default_rng(6006)
    answers = []
    for n_s, n_t, d, eps in [(40, 55, 4, 1.0), (30, 25, 3, 0.1), (8, 12, 10, 1.0), (60, 40, 5, 2.5), (25, 30, 1, 0.3)]:
        mix_s, mix_t = rng.normal(size=(d, d)), rng.normal(size=(d, d))
        Xs = rng.normal(size=(n_s, d)) @ mix_s + rng.normal(size=d)
        Xt = rng.normal(size=(n_t, d)) @ mix_t * rng.uniform(0.5, 3.0) + rng.normal(size=d) * 4
        answers.append(np.asarray(coral_transform(Xs, Xt, eps=eps), dtype=np.float64))
    return answers


@probe("da_grl_tests", rtol=1e-5, atol=1e-7, what="grad_reverse: outputs and the gradients that reach its input")
def reversal_gradients():
    import torch
    gen = torch.Generator().manual_seed(6062)
    answers = []
    for shape, lam in [((3, 7), 0.37), ((2, 3, 4), 1.9), ((6,), 0.0), ((4, 5), 1.0), ((5, 2), 12.5)]:
        x = torch.randn(shape, generator=gen, dtype=torch.float64).requires_grad_(True)
        upstream = torch.randn(shape, generator=gen, dtype=torch.float64)
        y = grad_reverse(x, lam)
        forward = y.detach().clone().tolist()
        (y * upstream).sum().backward()
        answers.append({"forward": forward, "grad": x.grad.clone().tolist()})
    # inside a small network: linear -> reversal -> tanh; the gradient of the linear layer's weight
    layer = torch.nn.Linear(4, 3).double()
    with torch.no_grad():
        layer.weight.copy_(torch.randn(3, 4, generator=gen, dtype=torch.float64))
        layer.bias.copy_(torch.randn(3, generator=gen, dtype=torch.float64))
    x = torch.randn(8, 4, generator=gen, dtype=torch.float64)
    torch.tanh(grad_reverse(layer(x), 0.6)).pow(2).sum().backward()
    answers.append({"weight_grad": layer.weight.grad.clone().tolist(), "bias_grad": layer.bias.grad.clone().tolist()})
    return answers


@probe("da_select_tests", what="select_confident's indices and labels on random probabilities and thresholds")
def confident_selection():
    import numpy as np
    rng = np.random.default_rng(6063)
    p = rng.dirichlet(np.full(5, 0.6), size=60)
    p[[3, 17, 41]] = [[0.0, 0.625, 0.25, 0.125, 0.0], [0.5, 0.0, 0.0, 0.0, 0.5], [0.0, 0.0, 0.0, 0.0, 1.0]]
    answers = []
    for threshold in (0.3, 0.5, 0.625, 0.8, 0.95, 1.0):
        indices, chosen = select_confident(p, threshold)
        answers.append({"indices": [int(i) for i in np.asarray(indices).ravel()],
                        "labels": [int(c) for c in np.asarray(chosen).ravel()]})
    return answers


def _rotated_blobs(seed: int):
    """The judge's copy of the data the self-training probe draws (the same code as in the probe's body)."""
    rng = np.random.default_rng(seed)
    centres = np.array([[-2.5, -1.0, 0.0], [2.5, -1.0, 0.0], [0.0, 2.5, 0.5], [0.0, 0.0, 3.0]])
    angle = 0.9
    rotation = np.array([[np.cos(angle), -np.sin(angle), 0.0], [np.sin(angle), np.cos(angle), 0.0], [0, 0, 1.0]])
    ys = np.repeat(np.arange(4), 50)
    Xs = centres[ys] + rng.normal(0, 0.6, (200, 3))
    yt = np.repeat(np.arange(4), 50)
    Xt = (centres[yt] + rng.normal(0, 0.6, (200, 3))) @ rotation.T
    return Xs, ys, Xt, yt


_SEEDS = (6064, 6065, 6066)


def _judge_self_training(got, expected):
    """Full points when the student's self-training is about as accurate on hidden targets as the key's (within 3
    points on average), its rounds=0 model is the source-only model, and it returns a fitted classifier."""
    if not isinstance(got, dict) or set(got) != set(expected):
        return "the answer has the wrong form"
    message = compare(got["rounds0"], expected["rounds0"], path="predictions with rounds=0 (must be source only)",
                      reveal=False)
    if message:
        return message
    preds = got["predictions"]
    if not isinstance(preds, list) or len(preds) != len(_SEEDS):
        return "self_train gave no predictions on the hidden targets"
    accuracy, key = [], []
    for seed, mine, theirs in zip(_SEEDS, preds, expected["predictions"]):
        yt = _rotated_blobs(seed)[3]
        if not isinstance(mine, list) or len(mine) != len(yt):
            return "the returned model predicts the wrong number of target examples"
        accuracy.append(float(np.mean(np.asarray(mine) == yt)))
        key.append(float(np.mean(np.asarray(theirs) == yt)))
    if np.mean(accuracy) < np.mean(key) - 0.03:
        return (f"on hidden shifted targets your self-training scores {np.mean(accuracy):.3f}, which is more than 3 "
                "points below a correct self-training: refit a new model each round on source + confident "
                "pseudo-labels, for `rounds` rounds")
    return None


@probe("da_self_train_tests", judge=_judge_self_training, what="self_train's predictions on hidden rotated targets")
def self_training_predictions():
    import numpy as np

    def rotated_blobs(seed):
        rng = np.random.default_rng(seed)
        centres = np.array([[-2.5, -1.0, 0.0], [2.5, -1.0, 0.0], [0.0, 2.5, 0.5], [0.0, 0.0, 3.0]])
        angle = 0.9
        rotation = np.array([[np.cos(angle), -np.sin(angle), 0.0], [np.sin(angle), np.cos(angle), 0.0], [0, 0, 1.0]])
        ys = np.repeat(np.arange(4), 50)
        Xs = centres[ys] + rng.normal(0, 0.6, (200, 3))
        yt = np.repeat(np.arange(4), 50)
        Xt = (centres[yt] + rng.normal(0, 0.6, (200, 3))) @ rotation.T
        return Xs, ys, Xt

    predictions = []
    for seed in (6064, 6065, 6066):
        Xs, ys, Xt = rotated_blobs(seed)
        predictions.append([int(c) for c in self_train(Xs, ys, Xt, threshold=0.85, rounds=6, C=0.5).predict(Xt)])
    Xs, ys, Xt = rotated_blobs(6067)
    rounds0 = [int(c) for c in self_train(Xs, ys, Xt, threshold=0.85, rounds=0, C=0.5).predict(Xt)]
    return {"predictions": predictions, "rounds0": rounds0}
