"""Grading probes for fine_tuning_pytorch.ipynb (how they are used: tlhelpers/grading/probes.py).

Each probe runs in the student's sandboxed kernel right after the test cell it names and returns plain data (what
the student's code produced on inputs of the probe's own); the grader judges it in its own process. What a
student cannot predict decides the points:

- ``build_model``: logits on images drawn by the probe must be an affine function of the ImageNet base's pooled
  features, which the judge computes itself in the grader's process (a count or a shape alone earns nothing);
- ``train``: a model the probe builds is trained by the student's ``train`` on an emoji budget; the probe returns
  only the predicted classes of the test split, and the judge loads the labels itself and requires an accuracy
  at least :data:`MIN_TRAIN_ACCURACY` (set from the solution over seeds, see below); which parameters moved is
  checked on a second, random network;
- ``choose_k``: ``train`` is replaced while it runs by a recorder that gives each copy a random head, so the best
  ``k`` cannot be guessed; the judge recomputes every validation accuracy from the returned models' predictions
  and labels it draws itself, and checks each ``k`` was trained once, on a copy, with the top ``k`` blocks
  unfrozen, at the given learning rate and epochs (a choice that skips phase 2, unfreezes everything or trains
  the caller's model fails);
- ``unfreeze_top``, ``mbconv_trainable_params``, ``bn_inference``: exact comparison with the key on networks and
  block specifications the exercise text does not give.

Models are built inside ``torch.random.fork_rng`` so that the notebook's random stream is left as it was.
"""

from __future__ import annotations

from functools import lru_cache

from tlhelpers.grading.judges import held_out_accuracy
from tlhelpers.grading.probes import probe

#: The probes' emoji set-up (smoke-sized): image side, labels per class, epochs of the train probe.
PROBE_SIZE, PROBE_PER_CLASS, PROBE_EPOCHS = 32, 20, 8
#: Held-out accuracy the student's `train` must reach in the train probe (412 test emoji at 32 px, 20 labels per
#: class, 8 epochs, Adam 3e-3). Measured, seeds 0 / 1 / 2 (initialisation, subsample and split): the solution
#: 0.379 / 0.403 / 0.374, an answer written with tt.fit 0.386 / 0.408 / 0.371; an untrained head is at chance
#: (0.125, one class for every image at worst). The threshold leaves 0.07 below the lowest honest run.
MIN_TRAIN_ACCURACY = 0.30
#: choose_k probe: the validation images and labels are drawn from this seed (the judge draws the same).
CHOOSE_K_SEED, CHOOSE_K_VALUES, CHOOSE_K_EPOCHS, CHOOSE_K_LR = 20261201, (0, 2, 4), 3, 3e-5


def _probe_images(seed: int, n: int, size: int = 32):
    import numpy as np

    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


@lru_cache(maxsize=1)
def _imagenet_features(seed: int, n: int):
    import torch
    import tlhelpers.torch as tt

    with torch.no_grad():
        base = tt.efficientnet_lite0(weights="imagenet", include_top=False, pooling="avg").eval()
        return base(tt.preprocess_input(_probe_images(seed, n))).double().numpy()


def _judge_build_model(got, expected):
    import numpy as np
    import torch

    if not isinstance(got, dict) or set(got) != set(expected):
        return "the answer has the wrong form"
    if got["trainable parameters"] != expected["trainable parameters"]:
        return "the number of trainable parameters is not that of the new head alone (freeze the whole base)"
    if got["output shape for 3 classes"] != expected["output shape for 3 classes"]:
        return "build_model(num_classes) does not output num_classes logits"
    logits = np.asarray(got["logits"], dtype=np.float64)
    features = _imagenet_features(20261202, 24)
    generator = torch.Generator().manual_seed(20261207)
    weight = (torch.randn((7, 1280), generator=generator) * 0.05).double().numpy()
    bias = torch.randn((7,), generator=generator).double().numpy()
    want = features @ weight.T + bias
    if logits.shape != want.shape or not np.all(np.isfinite(logits)):
        return "build_model(7) does not give 7 finite logits per image"
    if not np.allclose(logits, want, rtol=1e-4, atol=1e-4):
        return ("with head weights of the grader's, the logits are not those of the ImageNet base's pooled "
                "features (ImageNet weights, no top, average pooling, then dropout and a linear layer)")
    return None


@probe("ft_torch_build_model_tests", judge=_judge_build_model, what="build_model(7) on images of the probe's own")
def build_model_answers():
    import numpy as np
    import torch
    from torch import nn
    import tlhelpers.torch as tt

    with torch.random.fork_rng():
        torch.manual_seed(7)
        model = build_model(7)
        small = build_model(3)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    head = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    generator = torch.Generator().manual_seed(20261207)
    x = tt.preprocess_input(np.random.default_rng(20261202).integers(0, 256, (24, 32, 32, 3), dtype=np.uint8))
    with torch.no_grad():
        head.weight.copy_(torch.randn(head.weight.shape, generator=generator) * 0.05)
        head.bias.copy_(torch.randn(head.bias.shape, generator=generator))
        logits = model.eval()(x)
        shape3 = list(small.eval()(x[:2]).shape)
    return {"logits": logits.double(), "output shape for 3 classes": shape3, "trainable parameters": trainable}


@probe("ft_torch_train_tests", what="train on a random network with its top block unfrozen")
def train_moves_the_right_parameters():
    import numpy as np
    import torch
    import tlhelpers.torch as tt

    rng = np.random.default_rng(20261203)
    X = rng.integers(0, 256, (20, 32, 32, 3), dtype=np.uint8)
    y = (X[:, :, :, 1].mean(axis=(1, 2)) > 127).astype(np.int64)
    with torch.random.fork_rng():
        torch.manual_seed(3)
        model = tt.add_head(tt.freeze(tt.efficientnet_lite0(weights=None, include_top=False)), 2)
        tt.unfreeze_top_blocks(model, 1)
        before = {n: p.detach().clone() for n, p in model.named_parameters()}
        buffers = {n: b.detach().clone() for n, b in model.named_buffers()}
        history = train(model, (X, y), (X[:6], y[:6]), 3, 1e-3)
    groups = set()
    for name, p in model.named_parameters():
        if not torch.equal(p.detach(), before[name]):
            groups.add("head" if name.startswith("head") else "top block" if name.startswith("base.blocks.15.")
                       else "head conv" if name.startswith("base.head.conv") else "frozen: " + name)
    return {"changed": sorted(groups),
            "BatchNorm statistics unchanged": all(torch.equal(b, buffers[n]) for n, b in model.named_buffers()),
            "history keys": sorted(k for k in history if k in ("loss", "val_accuracy")),
            "epochs in history": [len(history["loss"]), len(history["val_accuracy"])],
            "losses finite": bool(np.all(np.isfinite(np.asarray(history["loss"], dtype=float))))}


def _check_base(got, expected):
    """What train did besides the accuracy (judged by :func:`held_out_accuracy` below)."""
    if not isinstance(got, dict) or set(got) != set(expected):
        return "the answer has the wrong form"
    if got["base unchanged"] is not True:
        return "train changed the frozen base (optimize only the parameters that are trainable)"
    return None


_judge_train_accuracy = held_out_accuracy(
    MIN_TRAIN_ACCURACY, size=PROBE_SIZE, random_state=0, key="test predictions", check=_check_base,
    subject="the head trained by your train",
    hint="does it train for `epochs` epochs at `lr` over every batch?")


@probe("ft_torch_train_tests", judge=_judge_train_accuracy, what="the held-out accuracy of a head trained by train")
def train_accuracy():
    import numpy as np
    import torch
    import tlhelpers.torch as tt
    from tlhelpers import data, emoji

    emo = emoji.load_emoji(classes="groups", style="colour", size=32, random_state=0)
    X_pool, y_pool = emo.split("train")
    idx = data.few_shot_subset(y_pool, 20, random_state=0)
    X_test = emo.split("test")[0]
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = tt.add_head(tt.freeze(tt.efficientnet_lite0(weights="imagenet", include_top=False)), 8)
        before = {n: p.detach().clone() for n, p in model.base.named_parameters()}
        train(model, (X_pool[idx], y_pool[idx]), emo.split("val"), 8, 3e-3, batch_size=16)
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(tt.preprocess_input(X_test[i:i + 64])).argmax(1) for i in range(0, len(X_test), 64)])
    return {"base unchanged": all(torch.equal(p.detach(), before[n]) for n, p in model.base.named_parameters()),
            "test predictions": pred.numpy().astype(np.int64)}


@probe("ft_torch_unfreeze_top_tests", what="unfreeze_top(model, k) for k = 0, 1, 3, 7, 16")
def unfreeze_top_answers():
    import torch
    from torch import nn
    import tlhelpers.torch as tt

    out = {}
    with torch.random.fork_rng():
        for k in (3, 0, 1, 7, 16):
            model = tt.add_head(tt.efficientnet_lite0(weights=None, include_top=False), 6)
            if k == 7:                      # everything trainable first: the function must freeze it all
                for p in model.parameters():
                    p.requires_grad_(True)
            got = unfreeze_top(model, k)
            model.train()
            out[f"k={k}"] = {"returns the model": got is model,
                             "trainable": [n for n, p in model.named_parameters() if p.requires_grad],
                             "BatchNorm layers in training mode": sum(
                                 m.training for m in model.modules() if isinstance(m, nn.BatchNorm2d))}
    return out


def _choose_k_val_labels():
    import numpy as np

    return np.random.default_rng(CHOOSE_K_SEED + 1).integers(0, 4, 36)


def _judge_choose_k(got, expected):
    import numpy as np

    if not isinstance(got, dict) or set(got) != set(expected):
        return "the answer has the wrong form"
    if got["model given is unchanged"] is not True:
        return "choose_k changed the model it was given (fine-tune a copy for each k)"
    if sorted(map(tuple, got["calls"])) != sorted(map(tuple, expected["calls"])):
        return ("train was not called once per k on a copy with the top k blocks unfrozen, for the given epochs "
                "at the given learning rate")
    labels = _choose_k_val_labels()
    keys = [str(k) for k in CHOOSE_K_VALUES]
    if sorted(got["val_acc"]) != sorted(keys) or sorted(got["predictions"]) != sorted(keys):
        return "val_acc and models must be keyed by every k"
    acc = {}
    for k in keys:
        pred = np.asarray(got["predictions"][k])
        if pred.shape != labels.shape:
            return f"models[{k}] did not classify every validation image"
        acc[k] = float((pred == labels).mean())
        if not isinstance(got["val_acc"][k], (int, float)) or abs(got["val_acc"][k] - acc[k]) > 1e-9:
            return f"val_acc[{k}] is not the validation accuracy of models[{k}]"
    best = max(acc.values())
    if got["best_k"] != min(int(k) for k in keys if acc[k] == best):
        return "best_k is not the k with the highest validation accuracy (the smallest on a tie)"
    return None


@probe("ft_torch_choose_k_tests", judge=_judge_choose_k, what="choose_k with train replaced by a recorder (and the key's unfreeze_top)")
def choose_k_answers():
    import copy
    import numpy as np
    import torch
    import tlhelpers.torch as tt

    rng = np.random.default_rng(20261201)
    X_val = rng.integers(0, 256, (36, 32, 32, 3), dtype=np.uint8)
    y_val = np.random.default_rng(20261202).integers(0, 4, 36)
    with torch.random.fork_rng():
        torch.manual_seed(11)
        start = tt.add_head(tt.freeze(tt.efficientnet_lite0(weights="imagenet", include_top=False)), 4)
    state = copy.deepcopy(start.state_dict())
    generator = torch.Generator().manual_seed(20261204)
    calls = []
    g = globals()
    real_train, real_unfreeze = g.get("train"), g.get("unfreeze_top")
    X_train = np.random.default_rng(20261205).integers(0, 256, (12, 32, 32, 3), dtype=np.uint8)
    y_train = np.random.default_rng(20261206).integers(0, 4, 12)

    def recorder(model, train_data, val_data, epochs, lr, batch_size=32):
        calls.append([model is start,
                      sum(p.numel() for n, p in model.named_parameters() if p.requires_grad and ".blocks." in n),
                      int(epochs), float(lr)])
        with torch.no_grad():
            for p in model.head.parameters():
                p.copy_(torch.randn(p.shape, generator=generator))
        return {"loss": [0.0] * int(epochs), "val_accuracy": [0.0] * int(epochs)}

    g["train"], g["unfreeze_top"] = recorder, tt.unfreeze_top_blocks     # the key's unfreeze_top: only choose_k is judged
    try:
        best_k, val_acc, models = choose_k(start, list((0, 2, 4)), (X_train, y_train), (X_val, y_val), 3, 3e-5)
    finally:
        g["train"], g["unfreeze_top"] = real_train, real_unfreeze
    predictions = {}
    for k, model in models.items():
        model.eval()
        with torch.no_grad():
            predictions[str(k)] = model(tt.preprocess_input(X_val)).argmax(1).numpy()
    return {"best_k": best_k, "val_acc": {str(k): v for k, v in val_acc.items()}, "predictions": predictions,
            "calls": calls,
            "model given is unchanged": all(torch.equal(v, start.state_dict()[n]) for n, v in state.items())}


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


@probe("ft_torch_bn_inference_tests", what="bn_inference on a small nested network")
def bn_inference_small():
    import torch
    from torch import nn

    with torch.random.fork_rng():
        torch.manual_seed(0)
        net = nn.Sequential(nn.BatchNorm2d(3), nn.Sequential(nn.Conv2d(3, 5, 3), nn.Dropout(0.3),
                                                            nn.Sequential(nn.BatchNorm2d(5), nn.ReLU())),
                            nn.Conv2d(5, 2, 1), nn.BatchNorm2d(2))
    net.train()
    got = bn_inference(net)
    return {"returns an nn.Module": isinstance(got, nn.Module),
            "modules: type and training mode": [[n, type(m).__name__, m.training] for n, m in net.named_modules()],
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
