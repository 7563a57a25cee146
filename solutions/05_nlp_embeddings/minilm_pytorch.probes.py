"""Grading probes for minilm_pytorch.ipynb (how they are used: tlhelpers/grading/probes.py).

Each probe runs in the student's sandboxed kernel right after the test cell it names and returns plain data (what
the student's code produced); the grader compares it with what the same probe returns on the solution, or, where a
correct answer may differ from the solution's (a head's random weights, dropout masks), a judge here checks
properties of the returned arrays. Inputs come from seeded generators; the global RNG is forked, so the notebook's
own random stream is left as it was.
"""

from __future__ import annotations

import numpy as np

from tlhelpers.grading.probes import compare, probe


@probe("nlp_torch_mean_pool_tests", rtol=1e-5, atol=1e-6, what="masked_mean")
def masked_mean_answers():
    import torch

    gen = torch.Generator().manual_seed(0)
    h = torch.randn(3, 5, 4, generator=gen)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 0, 0, 0, 0]])
    got = masked_mean(h, mask)
    h2 = torch.randn(6, 9, 7, generator=gen)
    mask2 = (torch.rand(6, 9, generator=gen) > 0.4).long()
    mask2[:, 0] = 1
    return {"is a torch.Tensor": isinstance(got, torch.Tensor),
            "shape for h of shape (3, 5, 4)": list(got.shape),
            "masks with 5, 2 and 1 real tokens": got,
            "random tensors, 0/1 mask": masked_mean(h2, mask2),
            "random tensors, boolean mask": masked_mean(h2, mask2.bool()),
            "sentences without real tokens": masked_mean(h2, torch.zeros(6, 9, dtype=torch.long))}


def _head_inputs(seed):
    """From the grader's seed: two heads' sizes and dropout rates, the Linear weights the probe sets (so the head's
    own random initialisation hides nothing), an eval batch, and a positive train batch."""
    import numpy as np
    rng = np.random.default_rng(seed)
    hidden = int(rng.integers(6, 12))               # a square head (n_classes = hidden): W can be inverted
    rate = float(rng.choice([0.2, 0.3, 0.4, 0.6]))
    weight = (rng.normal(size=(hidden, hidden)) + 3 * np.eye(hidden)).astype(np.float32)
    bias = rng.normal(size=hidden).astype(np.float32)
    x_eval = rng.normal(size=(5, hidden)).astype(np.float32)
    x_train = rng.uniform(0.5, 1.5, size=(300, hidden)).astype(np.float32)
    size, classes = int(rng.integers(20, 60)), int(rng.integers(2, 9))
    return hidden, rate, weight, bias, x_eval, x_train, size, classes, int(rng.integers(2**31))


def _judge_head(got, expected, seed):
    """On sizes, rates and weights drawn from the grader's seed: one nn.Linear of the right size; in eval mode exactly
    x @ W.T + b; in train mode, solving the outputs back through W, every input entry either dropped (0) or scaled
    by 1 / (1 - p), and the share dropped the rate asked for (binomial bounds): dropout after the layer, at another
    rate, or noise instead of dropout all fail."""
    hidden, rate, weight, bias, x_eval, x_train, size, classes, _ = _head_inputs(seed)
    if not isinstance(got, dict) or set(got) != set(expected):
        return "the answer has the wrong form"
    if got["is an nn.Module"] is not True:
        return "ClassificationHead should be an nn.Module"
    if got["nn.Linear modules"] != 1:
        return f"the head should have one nn.Linear layer; it has {got['nn.Linear modules']}"
    if compare(got["number of parameters of another head"], size * classes + classes, reveal=False):
        return "the number of parameters should be those of one Linear(hidden_size, n_classes)"
    w, b = weight.astype(np.float64), bias.astype(np.float64)
    evaluated = np.asarray(got["eval outputs"], dtype=float)
    if evaluated.shape != (5, hidden) or not np.allclose(evaluated, x_eval @ w.T + b, rtol=1e-4, atol=1e-4):
        return "in eval mode the head should be exactly its linear layer (dropout does nothing in eval mode)"
    trained = np.asarray(got["train outputs"], dtype=float)
    if trained.shape != x_train.shape:
        return "in train mode the head changes the shape of its output"
    kept = np.linalg.solve(w, (trained - b).T).T * (1 - rate) / x_train      # 1 where kept, 0 where dropped
    if not np.all((np.abs(kept) < 1e-3) | (np.abs(kept - 1) < 1e-3)):
        return ("in train mode the head should drop some INPUT entries and scale the others by 1 / (1 - p), then "
                "apply the linear layer: nn.Dropout(p) before nn.Linear")
    dropped, n = int((np.abs(kept) < 1e-3).sum()), kept.size
    if abs(dropped - rate * n) > 6 * np.sqrt(n * rate * (1 - rate)):
        return f"in train mode the head dropped {dropped / n:.0%} of the inputs, not the dropout rate it was given"
    return None


@probe("nlp_torch_head_tests", judge=_judge_head, what="ClassificationHead", uses=(_head_inputs,))
def classification_head_answers(seed):
    import torch
    from torch import nn

    hidden, rate, weight, bias, x_eval, x_train, size, classes, torch_seed = _head_inputs(seed)
    with torch.random.fork_rng():
        torch.manual_seed(torch_seed)
        head = ClassificationHead(hidden, hidden, dropout=rate)
        linears = [m for m in head.modules() if isinstance(m, nn.Linear)]
        out = {"is an nn.Module": isinstance(head, nn.Module), "nn.Linear modules": len(linears),
               "number of parameters of another head": sum(p.numel() for p in
                                                            ClassificationHead(size, classes).parameters()),
               "eval outputs": None, "train outputs": None}
        if len(linears) == 1 and tuple(linears[0].weight.shape) == weight.shape:
            with torch.no_grad():
                linears[0].weight.copy_(torch.from_numpy(weight))
                linears[0].bias.copy_(torch.from_numpy(bias))
                head.eval()
                out["eval outputs"] = head(torch.from_numpy(x_eval))
                head.train()
                out["train outputs"] = head(torch.from_numpy(x_train))
    return out


@probe("nlp_torch_head_params_tests", what="head_parameters")
def head_parameters_answer():
    is_int = isinstance(head_parameters, int) and not isinstance(head_parameters, bool)
    return {"is an int": is_int, "value": head_parameters if is_int else None}


@probe("nlp_torch_freeze_tests", what="freeze_encoder on two small classifiers")
def freeze_encoder_answers():
    import torch
    from torch import nn

    def trainable(module):
        return sum(p.numel() for p in module.parameters() if p.requires_grad)

    with torch.random.fork_rng():
        toy = nn.Module()
        toy.encoder = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 16))
        toy.head = nn.Linear(16, 3)
        frozen = freeze_encoder(toy)
        toy2 = nn.Module()
        toy2.encoder = nn.Linear(4, 4)
        toy2.head = nn.Linear(4, 2)
    out = {"returns an nn.Module": isinstance(frozen, nn.Module),
           "trainable parameters of the returned encoder": trainable(frozen.encoder),
           "trainable parameters of the returned head": trainable(frozen.head)}
    for p in toy2.head.parameters():            # a head frozen before must end up trainable
        p.requires_grad = False
    freeze_encoder(toy2)
    out["head frozen before: trainable parameters of the head"] = trainable(toy2.head)
    out["head frozen before: trainable parameters of the encoder"] = trainable(toy2.encoder)
    return out
