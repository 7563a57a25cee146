"""Image augmentation as a PyTorch module: random flip, rotation, zoom, shift and background colour.

The same augmentation as :func:`tlhelpers.augment_keras.augmentation` (Keras preprocessing layers), written
with torch ops (``affine_grid`` / ``grid_sample``) because torchvision is not part of the course's environment.
Also available as ``tlhelpers.torch.augmentation``. Typical use, on 0-255 float NCHW batches::

    augment = augmentation(rotation=0.05, zoom=0.15, translation=0.1, flip=True, background=0.5, seed=0)
    x = augment(batch)            # in train mode; augment.eval() makes it the identity

Parameters mean what they mean in Keras: ``rotation`` is a fraction of a full turn (0.05 = up to +-18 degrees),
``zoom`` and ``translation`` fractions of the image size, ``flip`` a horizontal flip with probability 1/2 (it
keeps the label of every emoji class set in :mod:`tlhelpers.emoji`; it would not for left/right arrows or letters
as classes of their own), ``background`` the probability of replacing the background colour by a random one.
Areas uncovered by a rotation, zoom-out or shift are filled with the background (``fill``, a grey level: 255 is
white, the emoji renderings' default). With every strength at zero the module is the identity.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["Augmentation", "augmentation"]


class Augmentation(nn.Module):
    """Random horizontal flip, rotation, zoom, translation and background colour of 0-255 NCHW images.

    Active in train mode only (like dropout); ``eval()`` makes it the identity. Random draws come from the
    module's own ``torch.Generator`` seeded with ``seed``, so two modules built with the same seed transform the
    same batches the same way, whatever else uses torch's global generator.
    """

    def __init__(self, rotation: float = 0.0, zoom: float = 0.0, translation: float = 0.0, flip: bool = False,
                 background: float = 0.0, fill: float = 255.0, tolerance: float = 24.0,
                 seed: int | None = None) -> None:
        super().__init__()
        for name, value in (("rotation", rotation), ("zoom", zoom), ("translation", translation),
                            ("background", background)):
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        if not 0.0 <= float(fill) <= 255.0:
            raise ValueError(f"fill must be a grey level between 0 and 255, got {fill}")
        self.rotation, self.zoom, self.translation = float(rotation), float(zoom), float(translation)
        self.flip, self.background, self.fill, self.tolerance = bool(flip), float(background), float(fill), tolerance
        self.generator = torch.Generator()
        if seed is None:
            self.generator.seed()
        else:
            self.generator.manual_seed(int(seed))

    def extra_repr(self) -> str:
        return (f"rotation={self.rotation}, zoom={self.zoom}, translation={self.translation}, flip={self.flip}, "
                f"background={self.background}, fill={self.fill}")

    def _uniform(self, n: int, low: float, high: float) -> torch.Tensor:
        return torch.rand(n, generator=self.generator) * (high - low) + low

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"expected a batch of RGB images (N, 3, H, W), got shape {tuple(x.shape)}; "
                             "NHWC arrays: x.permute(0, 3, 1, 2)")
        x = x.float()
        if not self.training:
            return x
        n, device = x.shape[0], x.device
        if self.flip:
            flipped = (torch.rand(n, generator=self.generator) < 0.5).to(device).view(n, 1, 1, 1)
            x = torch.where(flipped, x.flip(-1), x)
        if self.rotation or self.zoom or self.translation:
            angle = self._uniform(n, -self.rotation, self.rotation) * 2 * math.pi
            scale = 1 + self._uniform(n, -self.zoom, self.zoom)  # > 1 samples a wider area: zoom out
            shift = torch.stack([self._uniform(n, -self.translation, self.translation),
                                 self._uniform(n, -self.translation, self.translation)], 1) * 2  # [-1, 1] coords
            cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
            theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1),
                                 torch.stack([sin, cos, shift[:, 1]], 1)], 1).to(device)
            grid = F.affine_grid(theta, list(x.shape), align_corners=False)
            # Sampling (x - fill) with zero padding fills uncovered areas with the background grey level.
            x = F.grid_sample(x - self.fill, grid, mode="bilinear", padding_mode="zeros",
                              align_corners=False) + self.fill
        if self.background:
            colour = (torch.rand(n, 3, 1, 1, generator=self.generator) * 255).to(device)
            apply = (torch.rand(n, 1, 1, 1, generator=self.generator) < self.background).to(device)
            # Pixels within `tolerance` of the background grey are recoloured, edges (anti-aliasing) in part.
            distance = (x - self.fill).abs().amax(1, keepdim=True)
            weight = (1 - distance / self.tolerance).clamp(0, 1) * apply
            x = x + weight * (colour - x)
        return x


def augmentation(rotation: float = 0.05, zoom: float = 0.15, translation: float = 0.1, flip: bool = True,
                 background: float = 0.5, fill: float = 255.0, seed: int | None = None) -> Augmentation:
    """An :class:`Augmentation` module (defaults: up to +-18 degrees, +-15% zoom, +-10% shift, flips, and a
    random background colour for half the images). Same name and arguments as ``tlhelpers.keras.augmentation``."""
    return Augmentation(rotation=rotation, zoom=zoom, translation=translation, flip=flip, background=background,
                        fill=fill, seed=seed)
