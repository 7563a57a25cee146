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


def _judge_head(got, expected):
    """Structure as the solution's; eval mode deterministic and affine; train mode applies dropout."""
    if not isinstance(got, dict) or set(got) != set(expected):
        return "the answer has the wrong form"
    for key in ("is an nn.Module", "output shape for a batch (5, 384)", "number of parameters",
                "dropout probabilities of the nn.Dropout modules"):
        message = compare(got[key], expected[key], rtol=1e-9, path=key)
        if message:
            return message
    first, second = np.asarray(got["eval outputs, twice"][0]), np.asarray(got["eval outputs, twice"][1])
    if first.shape != (3, 7) or second.shape != (3, 7) or not np.allclose(first, second, rtol=1e-5, atol=1e-6):
        return "in eval mode the head must be deterministic: two calls on the same batch differ"
    f1, f2, mix = (np.asarray(v) for v in got["eval outputs on x1, x2 and 0.3 x1 + 0.7 x2"])
    if not np.allclose(mix, 0.3 * f1 + 0.7 * f2, rtol=1e-4, atol=1e-4):
        return "in eval mode the head should be one linear layer (an affine map): dropout, then nn.Linear"
    a, b = (np.asarray(v) for v in got["train outputs, twice (dropout 0.5)"])
    if a.shape != (200, 3) or b.shape != (200, 3):
        return "ClassificationHead(10, 3) should map a batch (200, 10) to (200, 3)"
    if np.allclose(a, b):
        return "in train mode the head should apply dropout to its input: two calls gave the same output"
    return None


@probe("nlp_torch_head_tests", judge=_judge_head, what="ClassificationHead")
def classification_head_answers():
    import torch
    from torch import nn

    with torch.random.fork_rng():
        torch.manual_seed(0)
        head = ClassificationHead(384, 7, dropout=0.1)
        out = {"is an nn.Module": isinstance(head, nn.Module),
               "output shape for a batch (5, 384)": list(head(torch.randn(5, 384)).shape),
               "number of parameters": sum(p.numel() for p in head.parameters()),
               "dropout probabilities of the nn.Dropout modules": [m.p for m in head.modules()
                                                                   if isinstance(m, nn.Dropout)]}
        head.eval()
        x = torch.randn(3, 384)
        out["eval outputs, twice"] = [head(x), head(x)]
        x1, x2 = torch.randn(2, 384), torch.randn(2, 384)
        out["eval outputs on x1, x2 and 0.3 x1 + 0.7 x2"] = [head(x1), head(x2), head(0.3 * x1 + 0.7 * x2)]
        small = ClassificationHead(10, 3, dropout=0.5)
        small.train()
        torch.manual_seed(1)
        out["train outputs, twice (dropout 0.5)"] = [small(torch.ones(200, 10)), small(torch.ones(200, 10))]
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
