"""Domain adaptation in PyTorch: gradient reversal, DANN, Deep CORAL, AdaBN and pseudo-labels.

The same names as :mod:`tlhelpers.adapt.keras` where both exist (``GradientReversal``, ``grad_reverse``,
``coral_loss``, ``adabn``)::

    import tlhelpers.adapt.torch as at
    model = at.DANN(features, classifier, at.domain_classifier(64), lambda_=1.0)
    history = at.train_dann(model, xs, ys, xt, steps=500)          # labels of the target are never used
    at.adabn(backbone, target_images, transform=preprocess_input)   # BatchNorm statistics of the target

Importing this module imports torch.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from tlhelpers.adapt import PseudoLabels, select_pseudo_labels
from tlhelpers.settings import choose_device

__all__ = [
    "grad_reverse",
    "GradientReversal",
    "coral_loss",
    "adabn",
    "FeatureClassifier",
    "DANN",
    "domain_classifier",
    "dann_lambda",
    "dann_step",
    "deep_coral_step",
    "train_dann",
    "train_deep_coral",
    "predict_proba",
    "pseudo_label",
]

# ------------------------------------------------------------------------------------------ gradient reversal


class _GradientReversalFunction(torch.autograd.Function):
    """Identity on the way forward; on the way back the gradient is multiplied by ``-lambda_``."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, lambda_: float) -> torch.Tensor:
        ctx.lambda_ = lambda_
        return x.view_as(x)  # a new tensor object, so autograd records this node

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.lambda_ * grad_output, None  # no gradient for lambda_


def grad_reverse(x: torch.Tensor, lambda_: float = 1.0) -> torch.Tensor:
    """Gradient reversal (Ganin & Lempitsky, 2015): returns ``x`` unchanged; the gradient that flows back
    through it is ``-lambda_`` times the incoming one."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"grad_reverse needs a torch.Tensor, got {type(x).__name__}")
    return _GradientReversalFunction.apply(x, float(lambda_))


class GradientReversal(nn.Module):
    """Layer form of :func:`grad_reverse`. ``lambda_`` is a plain attribute: change it during training for a
    schedule (see :func:`dann_lambda`)."""

    def __init__(self, lambda_: float = 1.0) -> None:
        super().__init__()
        self.lambda_ = float(lambda_)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return grad_reverse(x, self.lambda_)

    def extra_repr(self) -> str:
        return f"lambda_={self.lambda_}"


# ------------------------------------------------------------------------------------------------ Deep CORAL


def coral_loss(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Deep CORAL's loss ``||C_S - C_T||_F^2 / (4 d^2)`` between two batches of ``d`` features (differentiable).

    ``C`` are unbiased covariance matrices, as in :func:`tlhelpers.adapt.coral_loss` (the NumPy reference).
    """
    if source.ndim != 2 or target.ndim != 2 or source.shape[1] != target.shape[1]:
        raise ValueError(f"coral_loss needs two (n, d) batches with the same d, got {tuple(source.shape)} and "
                         f"{tuple(target.shape)}")
    if len(source) < 2 or len(target) < 2:
        raise ValueError("coral_loss needs at least 2 examples per batch to estimate a covariance")
    d = source.shape[1]
    diff = torch.cov(source.T).reshape(d, d) - torch.cov(target.T).reshape(d, d)
    return (diff ** 2).sum() / (4.0 * d * d)


# ---------------------------------------------------------------------------------------------------- AdaBN


def _batches(data: Any, batch_size: int) -> Iterator[Any]:
    if isinstance(data, (torch.Tensor, np.ndarray)):
        for start in range(0, len(data), batch_size):
            yield data[start:start + batch_size]
    else:
        yield from data


def _first(batch: Any) -> Any:
    return batch[0] if isinstance(batch, (tuple, list)) else batch


def _device_of(model: nn.Module, device: str | None) -> torch.device:
    if device is not None:
        return torch.device(choose_device(device))
    first = next(model.parameters(), None)
    return first.device if first is not None else torch.device("cpu")


def adabn(model: nn.Module, target_data: Any, batch_size: int = 64, transform: Callable | None = None,
          device: str | None = None) -> nn.Module:
    """AdaBN (Li et al., 2016): replace every BatchNorm's running statistics by those of the target data.

    ``target_data``: target inputs (a tensor or array, cut into batches of ``batch_size``) or an iterable of
    batches (``x`` or ``(x, ...)``; labels are ignored). ``transform`` is applied to each batch first (e.g.
    :func:`tlhelpers.torch.preprocess_input` for 0-255 images).

    How: each BatchNorm's statistics are reset and its ``momentum`` set to ``None`` (a cumulative average over
    batches), the BatchNorm layers alone are put in training mode (the rest, e.g. dropout, stays in eval
    mode), the data goes forward without gradients, and then every module's mode and momentum are put back.
    Frozen BatchNorm layers are re-estimated too (``torch.optim.swa_utils.update_bn`` calls ``model.train()``,
    which leaves a frozen EfficientNet's BatchNorm in eval mode and so changes nothing). Parameters do not
    change. The running mean is the mean over batches of each batch's mean (the target mean when batches are
    equal-sized); the running variance is the mean of the batches' unbiased variances. Returns ``model``.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    if not norms:
        raise ValueError("the model has no BatchNorm layer with running statistics: AdaBN has nothing to adapt")
    if batch_size < 2:
        raise ValueError(f"batch_size must be >= 2 (BatchNorm needs a batch to estimate statistics), got {batch_size}")
    dev = _device_of(model, device)
    modes = [(m, m.training) for m in model.modules()]
    momenta = [(m, m.momentum) for m in norms]
    seen = 0
    try:
        model.eval()
        for m in norms:
            m.reset_running_stats()
            m.momentum = None
            m.training = True
        with torch.no_grad():
            for batch in _batches(target_data, batch_size):
                x = _first(batch)
                x = transform(x) if transform is not None else torch.as_tensor(x, dtype=torch.float32)
                model(x.to(dev))
                seen += len(x)
    finally:
        for m, momentum in momenta:
            m.momentum = momentum
        for m, mode in modes:
            m.training = mode
    if seen == 0:
        raise ValueError("target_data gave no examples")
    return model


# ----------------------------------------------------------------------------------------------------- DANN


class FeatureClassifier(nn.Module):
    """``features`` (a feature extractor) followed by ``classifier`` (logits); Deep CORAL aligns the features."""

    def __init__(self, features: nn.Module, classifier: nn.Module) -> None:
        super().__init__()
        self.features = features
        self.classifier = classifier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class DANN(FeatureClassifier):
    """Domain-adversarial network (Ganin et al., 2016): ``features`` -> ``classifier`` (class logits) and
    ``features`` -> :class:`GradientReversal` -> ``domain_classifier`` (one logit: target vs source).

    ``model(x)`` gives class logits; :meth:`forward_domains` gives both heads. The domain classifier learns to
    tell the domains apart while the reversed gradient pushes the features to make that impossible.
    """

    def __init__(self, features: nn.Module, classifier: nn.Module, domain_classifier: nn.Module,
                 lambda_: float = 1.0) -> None:
        super().__init__(features, classifier)
        self.grl = GradientReversal(lambda_)
        self.domain_classifier = domain_classifier

    def forward_domains(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(class_logits, domain_logits)``; domain logits are ``(n,)``, positive means "target"."""
        f = self.features(x)
        return self.classifier(f), self.domain_classifier(self.grl(f)).reshape(len(f))


def domain_classifier(in_features: int, hidden: int = 64) -> nn.Sequential:
    """A small domain discriminator: linear -> ReLU -> linear to one logit."""
    if in_features < 1 or hidden < 1:
        raise ValueError(f"in_features and hidden must be positive, got {in_features} and {hidden}")
    return nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, 1))


def dann_lambda(progress: float, gamma: float = 10.0) -> float:
    """Ganin et al.'s schedule ``2 / (1 + exp(-gamma p)) - 1``: 0 at the start (``p = 0``) rising to ~1 at the
    end (``p = 1``), so the domain loss does not disturb the features before the classifier has learnt."""
    return 2.0 / (1.0 + math.exp(-gamma * float(progress))) - 1.0


def dann_step(model: DANN, optimizer: torch.optim.Optimizer, x_source: torch.Tensor, y_source: torch.Tensor,
              x_target: torch.Tensor, lambda_: float | None = None) -> dict[str, float]:
    """One DANN update on a source batch (labelled) and a target batch (no labels).

    Loss = cross-entropy on the source + binary cross-entropy of the domain classifier on both batches
    (source 0, target 1); the gradient reversal (``lambda_``, if given, is set on ``model.grl`` first) turns
    the second term into a confusion term for the features. Returns the losses and the domain accuracy.
    """
    if lambda_ is not None:
        model.grl.lambda_ = float(lambda_)
    model.train()
    n_s = len(x_source)
    class_logits, domain_logits = model.forward_domains(torch.cat([x_source, x_target]))
    domains = torch.cat([torch.zeros(n_s), torch.ones(len(x_target))]).to(domain_logits.device)
    class_loss = F.cross_entropy(class_logits[:n_s], y_source)
    domain_loss = F.binary_cross_entropy_with_logits(domain_logits, domains)
    optimizer.zero_grad(set_to_none=True)
    (class_loss + domain_loss).backward()
    optimizer.step()
    domain_accuracy = ((domain_logits.detach() > 0).float() == domains).float().mean()
    return {"class_loss": float(class_loss.detach()), "domain_loss": float(domain_loss.detach()),
            "domain_accuracy": float(domain_accuracy), "lambda": model.grl.lambda_}


def deep_coral_step(model: FeatureClassifier, optimizer: torch.optim.Optimizer, x_source: torch.Tensor,
                    y_source: torch.Tensor, x_target: torch.Tensor, weight: float = 1.0) -> dict[str, float]:
    """One Deep CORAL update: cross-entropy on the source + ``weight`` * :func:`coral_loss` between the source
    and target batches' features."""
    model.train()
    n_s = len(x_source)
    f = model.features(torch.cat([x_source, x_target]))
    class_loss = F.cross_entropy(model.classifier(f[:n_s]), y_source)
    alignment = coral_loss(f[:n_s], f[n_s:])
    optimizer.zero_grad(set_to_none=True)
    (class_loss + weight * alignment).backward()
    optimizer.step()
    return {"class_loss": float(class_loss.detach()), "coral_loss": float(alignment.detach())}


def _tensor(x: Any, dtype: torch.dtype) -> torch.Tensor:
    return x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x), dtype=dtype)


def _train_two_domains(model: nn.Module, step: Callable[..., dict[str, float]], x_source: Any, y_source: Any,
                       x_target: Any, steps: int, batch_size: int, lr: float, seed: int,
                       optimizer: torch.optim.Optimizer | None, device: str | None,
                       progress: bool) -> dict[str, list[float]]:
    xs, ys, xt = _tensor(x_source, torch.float32), _tensor(y_source, torch.long), _tensor(x_target, torch.float32)
    if len(xs) != len(ys):
        raise ValueError(f"x_source has {len(xs)} rows but y_source has {len(ys)}")
    if len(xs) < 2 or len(xt) < 2:
        raise ValueError("both domains need at least 2 examples")
    if steps < 1 or batch_size < 2:
        raise ValueError(f"steps must be >= 1 and batch_size >= 2, got {steps} and {batch_size}")
    dev = torch.device(choose_device(device))
    model.to(dev)
    opt = optimizer or torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    generator = torch.Generator().manual_seed(seed)  # the batches drawn depend on the seed only
    history: dict[str, list[float]] = {}
    from tqdm.auto import tqdm

    for i in tqdm(range(steps), desc="adaptation", unit="step", disable=not progress, leave=False):
        s = torch.randint(len(xs), (min(batch_size, len(xs)),), generator=generator)
        t = torch.randint(len(xt), (min(batch_size, len(xt)),), generator=generator)
        for key, value in step(i, opt, xs[s].to(dev), ys[s].to(dev), xt[t].to(dev)).items():
            history.setdefault(key, []).append(value)
    model.eval()
    return history


def train_dann(model: DANN, x_source: Any, y_source: Any, x_target: Any, steps: int = 500, batch_size: int = 64,
               lr: float = 1e-3, lambda_max: float = 1.0, schedule: bool = True, seed: int = 0,
               optimizer: torch.optim.Optimizer | None = None, device: str | None = None,
               progress: bool = False) -> dict[str, list[float]]:
    """Train a :class:`DANN` for ``steps`` updates on random source and target batches (drawn with ``seed``).

    ``lambda_`` follows :func:`dann_lambda` up to ``lambda_max`` (``schedule=False``: ``lambda_max``
    throughout). ``optimizer`` defaults to Adam(``lr``) on the trainable parameters. Returns per-step lists
    of :func:`dann_step`'s values; the model is left in eval mode.
    """
    if not isinstance(model, DANN):
        raise TypeError(f"train_dann needs a DANN model, got {type(model).__name__}: wrap it with DANN(...)")

    def step(i: int, opt: torch.optim.Optimizer, xs: torch.Tensor, ys: torch.Tensor,
             xt: torch.Tensor) -> dict[str, float]:
        lam = lambda_max * (dann_lambda(i / max(steps - 1, 1)) if schedule else 1.0)
        return dann_step(model, opt, xs, ys, xt, lambda_=lam)

    return _train_two_domains(model, step, x_source, y_source, x_target, steps, batch_size, lr, seed, optimizer,
                              device, progress)


def train_deep_coral(model: FeatureClassifier, x_source: Any, y_source: Any, x_target: Any, steps: int = 500,
                     batch_size: int = 64, lr: float = 1e-3, weight: float = 1.0, seed: int = 0,
                     optimizer: torch.optim.Optimizer | None = None, device: str | None = None,
                     progress: bool = False) -> dict[str, list[float]]:
    """Train a :class:`FeatureClassifier` with Deep CORAL (:func:`deep_coral_step`), like :func:`train_dann`."""
    if not isinstance(model, FeatureClassifier):
        raise TypeError(f"train_deep_coral needs a FeatureClassifier, got {type(model).__name__}")

    def step(i: int, opt: torch.optim.Optimizer, xs: torch.Tensor, ys: torch.Tensor,
             xt: torch.Tensor) -> dict[str, float]:
        return deep_coral_step(model, opt, xs, ys, xt, weight)

    return _train_two_domains(model, step, x_source, y_source, x_target, steps, batch_size, lr, seed, optimizer,
                              device, progress)


# -------------------------------------------------------------------------------------------- self-training


def predict_proba(model: nn.Module, x: Any, batch_size: int = 512) -> np.ndarray:
    """Softmax of ``model``'s logits on ``x`` (eval mode, no gradient), as a NumPy array ``(n, k)``."""
    dev = _device_of(model, None)
    was_training = model.training
    model.eval()
    out = []
    try:
        with torch.no_grad():
            for batch in _batches(_tensor(x, torch.float32), batch_size):
                out.append(torch.softmax(model(batch.to(dev)), dim=1).cpu().numpy())
    finally:
        model.train(was_training)
    return np.concatenate(out).astype(np.float64)


def pseudo_label(model: nn.Module, x_target: Any, threshold: float, per_class_max: int | None = None,
                 batch_size: int = 512) -> PseudoLabels:
    """:func:`tlhelpers.adapt.select_pseudo_labels` on ``model``'s predicted probabilities for ``x_target``."""
    return select_pseudo_labels(predict_proba(model, x_target, batch_size), threshold, per_class_max)
