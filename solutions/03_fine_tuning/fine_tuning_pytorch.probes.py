"""Grading probes for fine_tuning_pytorch.ipynb (how they are used: tlhelpers/grading/probes.py).

Each probe runs in the student's sandboxed kernel right after the test cell it names and returns plain data (what
the student's code produced); the grader compares it with what the same probe returns on the solution. The models
are built inside the probes with random initialisation: only which parameters are trainable and which modules are
in training mode is read from them, so no random value reaches an answer (the RNG is forked all the same, to leave
the notebook's random stream as it was).
"""

from __future__ import annotations

from tlhelpers.grading.probes import probe


@probe("ft_torch_unfreeze_top_tests", what="unfreeze_top(backbone, k) for k = 0, 1, 2, 3, 16")
def unfreeze_top_answers():
    import torch
    from torch import nn
    import tlhelpers.torch as tt

    out = {}
    with torch.random.fork_rng():
        for k in (2, 0, 1, 3, 16):
            net = tt.efficientnet_lite0(weights=None, include_top=False)
            got = unfreeze_top(net, k)
            trainable = [name for name, p in net.named_parameters() if p.requires_grad]
            out[f"k={k}"] = {"returns an nn.Module": isinstance(got, nn.Module),
                             "trainable parameters": sum(p.numel() for p in net.parameters() if p.requires_grad),
                             "names of the trainable parameters": trainable}
        net = tt.efficientnet_lite0(weights=None, include_top=False)
        for p in net.parameters():                # everything trainable first: the function must freeze it all
            p.requires_grad_(True)
        unfreeze_top(net, 1)
    out["k=1 on a fully trainable backbone"] = [name for name, p in net.named_parameters() if p.requires_grad]
    return out


def _judge_phase_two_lr(got, expected):
    """Any learning rate 10 to 100 times lower than the phase-1 one passes (the solution's 1/30 is one choice)."""
    if not isinstance(got, list) or len(got) != len(expected):
        return "the answer has the wrong form"
    for (one, is_number, two), _ in zip(got, expected):
        if not is_number:
            return f"phase_two_lr({one:g}) should be a float, got a {two}"
        if not one / 100 * (1 - 1e-9) <= two <= one / 10 * (1 + 1e-9):
            return (f"phase_two_lr({one:g}) is {two:g}: it should be 10 to 100 times lower, "
                    f"in [{one / 100:g}, {one / 10:g}]")
    return None


@probe("ft_torch_phase2_lr_tests", judge=_judge_phase_two_lr, what="phase_two_lr")
def phase_two_lr_answers():
    out = []
    for one in (1e-3, 1e-2, 3e-3, 0.1, 5e-4):
        two = phase_two_lr(one)
        is_number = isinstance(two, (float, int)) and not isinstance(two, bool)
        out.append([one, is_number, float(two) if is_number else type(two).__name__])
    return out


@probe("ft_torch_count_params_tests", what="mbconv_trainable_params for the 16 blocks and two other specs")
def mbconv_trainable_params_answers():
    import numpy as np
    from tlhelpers.efficientnet_spec import BLOCKS, BlockSpec

    specs = list(BLOCKS) + [
        BlockSpec(index=16, stage=8, name="block8a", kernel=7, stride=1, expand_ratio=4, in_channels=24,
                  out_channels=48),
        BlockSpec(index=17, stage=9, name="block9a", kernel=5, stride=2, expand_ratio=1, in_channels=64,
                  out_channels=96),
    ]
    out = {}
    for spec in specs:
        value = mbconv_trainable_params(spec)
        is_int = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
        out[spec.name] = {"is an int": is_int, "value": int(value) if is_int else None}
    return out


@probe("ft_torch_bn_inference_tests", what="bn_inference on a small network")
def bn_inference_small():
    import torch
    from torch import nn

    with torch.random.fork_rng():
        torch.manual_seed(0)
        net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout(0.5), nn.Conv2d(4, 2, 1),
                            nn.BatchNorm2d(2))
    net.train()
    got = bn_inference(net)
    return {"returns an nn.Module": isinstance(got, nn.Module),
            "modules: type and training mode": [[type(m).__name__, m.training] for m in net],
            "parameters: name and requires_grad": [[n, p.requires_grad] for n, p in net.named_parameters()]}


@probe("ft_torch_bn_inference_tests", what="bn_inference on a whole EfficientNet with a head")
def bn_inference_efficientnet():
    import torch
    from torch import nn
    import tlhelpers.torch as tt

    with torch.random.fork_rng():
        big = tt.add_head(tt.efficientnet_lite0(weights=None, include_top=False), 10)
    for p in big.parameters():
        p.requires_grad_(True)
    nn.Module.train(big)            # plain train(): every module in training mode, BatchNorm included
    bn_inference(big)
    modules = list(big.modules())
    bns = [m for m in modules if isinstance(m, nn.BatchNorm2d)]
    return {"BatchNorm layers in training mode": sum(m.training for m in bns),
            "other modules in training mode": sum(m.training for m in modules if not isinstance(m, nn.BatchNorm2d)),
            "trainable parameters": sum(p.numel() for p in big.parameters() if p.requires_grad),
            "frozen parameters": [n for n, p in big.named_parameters() if not p.requires_grad],
            "the head's dropout is in training mode": big.head[0].training}
