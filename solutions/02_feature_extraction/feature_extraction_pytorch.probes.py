"""Grading probes for feature_extraction_pytorch.ipynb (how they are used: tlhelpers/grading/probes.py).

Each probe runs in the student's sandboxed kernel right after the test cell it names and returns plain data (what
the student's code produced); the grader compares it with what the same probe returns on the solution. Models are
built inside the probes (random initialisation where only counts and shapes matter, ImageNet weights where values
are compared), under a fixed seed in a forked RNG, so the notebook's own random stream is left as it was.
"""

from __future__ import annotations

from tlhelpers.grading.probes import probe


@probe("fe_torch_freeze_tests", what="freeze_and_count(EfficientNet-Lite0)")
def freeze_and_count_efficientnet():
    import numpy as np
    import torch
    import tlhelpers.torch as tt

    with torch.random.fork_rng():
        torch.manual_seed(0)
        net = tt.efficientnet_lite0(weights=None, include_top=False)
        counts = freeze_and_count(net)
    # The types are part of the answer: the exercise asks for a dict of plain ints. A non-dict answer fails on
    # its type, which comes first.
    answer_type = "dict" if isinstance(counts, dict) else type(counts).__name__
    counts = counts if isinstance(counts, dict) else {}
    out = {"type": answer_type, "keys": sorted(str(k) for k in counts),
           "parameters left trainable": [name for name, p in net.named_parameters() if p.requires_grad]}
    out["counts"] = {}
    for key, value in counts.items():
        is_int = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
        out["counts"][str(key)] = {"is an int": is_int, "value": int(value) if is_int else None}
    return out


@probe("fe_torch_freeze_tests", what="freeze_and_count(nn.Linear(7, 3))")
def freeze_and_count_linear():
    import numpy as np
    import torch
    from torch import nn

    with torch.random.fork_rng():
        torch.manual_seed(0)
        linear = nn.Linear(7, 3)
        counts = freeze_and_count(linear)
    answer_type = "dict" if isinstance(counts, dict) else type(counts).__name__
    counts = counts if isinstance(counts, dict) else {}     # a non-dict answer fails on its type, named first
    out = {"type": answer_type, "keys": sorted(str(k) for k in counts),
           "parameters left trainable": [name for name, p in linear.named_parameters() if p.requires_grad]}
    out["counts"] = {}
    for key, value in counts.items():
        is_int = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
        out["counts"][str(key)] = {"is an int": is_int, "value": int(value) if is_int else None}
    return out


@probe("fe_torch_head_tests", what="build_classifier(base, 7) and build_classifier(base, 3)")
def build_classifier_answers():
    import torch
    from torch import nn
    import tlhelpers.torch as tt

    def counts(model):
        params = list(model.parameters())       # shared tensors are listed once
        return {"trainable": sum(p.numel() for p in params if p.requires_grad),
                "frozen": sum(p.numel() for p in params if not p.requires_grad)}

    with torch.random.fork_rng():
        torch.manual_seed(0)
        base = tt.efficientnet_lite0(weights=None, include_top=False, pooling="avg")
        for p in base.parameters():              # the base may come in unfrozen: the function must freeze it
            p.requires_grad_(True)
        clf = build_classifier(base, 7)
        is_module = isinstance(clf, nn.Module)
        with torch.no_grad():
            shape7 = list(clf.eval()(torch.zeros(2, 3, 32, 32)).shape)
        base3 = tt.efficientnet_lite0(weights=None, include_top=False, pooling="avg")
        clf3 = build_classifier(base3, 3)
        with torch.no_grad():
            shape3 = list(clf3.eval()(torch.zeros(1, 3, 40, 40)).shape)
    return {"is an nn.Module": is_module, "output shape for 2 images, 7 classes": shape7,
            "parameters of the classifier (7 classes)": counts(clf),
            "trainable parameters left in the base": sum(p.numel() for p in base.parameters() if p.requires_grad),
            "output shape for 1 image of 40 px, 3 classes": shape3,
            "parameters of the classifier (3 classes)": counts(clf3)}


@probe("fe_torch_head_params_tests", what="head_params")
def head_params_answer():
    is_int = isinstance(head_params, int) and not isinstance(head_params, bool)
    return {"is an int": is_int, "value": head_params if is_int else None}


@probe("fe_torch_cut_tests", rtol=1e-4, atol=1e-5, what="cut_at_block(model, k) for k = 1, 5, 8, 11, 16")
def cut_at_block_answers():
    import numpy as np
    import torch
    from torch import nn
    import tlhelpers.torch as tt

    # Pretrained weights and image-like inputs: the features are of order 1, so the tolerance means something
    # (a randomly initialised network gives features of order 1e-4).
    model = tt.efficientnet_lite0(weights="imagenet", include_top=False).eval()
    images = np.random.default_rng(0).integers(0, 256, size=(2, 32, 32, 3), dtype=np.uint8)
    x = tt.preprocess_input(images).contiguous()
    out = {}
    with torch.random.fork_rng():
        torch.manual_seed(0)
        for k in (8, 1, 5, 11, 16):
            cut = cut_at_block(model, k)
            entry = {"is an nn.Module": isinstance(cut, nn.Module)}
            with torch.no_grad():
                features = cut.eval()(x).double().numpy()
            entry["output shape"] = list(features.shape)
            # Values only for a pooled (n, channels) output, with 7 significant digits: keeps the printed answer
            # short (a probe cell's output is capped); an unpooled feature map fails on its shape anyway.
            entry["output"] = [[float(f"{v:.7g}") for v in row] for row in features.tolist()] \
                if features.ndim == 2 else None
            out[f"k={k}"] = entry
        shared = {id(p) for p in cut_at_block(model, 8).parameters()}
    # How many of the model's own parameter tensors the cut reuses (a copy reuses none).
    out["stem parameters shared with the model"] = sum(id(p) in shared for p in model.stem.parameters())
    out["parameters of blocks[:8] shared with the model"] = sum(id(p) in shared for p in model.blocks[:8].parameters())
    return out
