"""Plots the notebooks share: image grids and curves (matplotlib, imported when a plot is made)."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

__all__ = ["show_images", "plot_curves"]


def show_images(images: Any, labels: Sequence[Any] | None = None, class_names: Sequence[str] | None = None,
                ncols: int = 8, size: float = 1.3, cmap: str = "gray", title: str | None = None,
                vmin: float | None = None, vmax: float | None = None) -> Any:
    """Show a grid of images (``(n, h, w)`` grey or ``(n, h, w, 3)`` RGB); returns the matplotlib figure.

    ``labels`` (with optional ``class_names``) are written above each image. Grey images share one intensity
    range, ``vmin``..``vmax`` (default: 0..255 for integer images, else 0..1 when the values fit, else the
    data's range), so that a change of contrast or brightness between images stays visible.
    """
    import matplotlib.pyplot as plt

    array = np.asarray(images)
    if array.ndim not in (3, 4) or (array.ndim == 4 and array.shape[-1] not in (1, 3)):
        raise ValueError(f"images must be (n, h, w) or (n, h, w, 3), got shape {array.shape}")
    if labels is not None and len(labels) != len(array):
        raise ValueError(f"got {len(array)} images but {len(labels)} labels")
    if vmin is None or vmax is None:
        if np.issubdtype(array.dtype, np.integer):
            low, high = 0.0, 255.0
        elif array.size and array.min() >= 0.0 and array.max() <= 1.0:
            low, high = 0.0, 1.0
        else:
            low, high = float(array.min()), float(array.max())
        vmin = low if vmin is None else vmin
        vmax = high if vmax is None else vmax
    n = len(array)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows * 1.3), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        image = array[i].squeeze()
        if image.ndim == 2:
            ax.imshow(image, cmap=cmap, vmin=vmin, vmax=vmax)
        else:
            ax.imshow(image)
        if labels is not None:
            label = labels[i]
            text = class_names[int(label)] if class_names is not None else str(label)
            ax.set_title(text, fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.subplots_adjust(hspace=0.4)  # room for the titles above each row
    return fig


def plot_curves(x: Sequence[float], curves: Mapping[str, Sequence[float]], xlabel: str, ylabel: str,
                title: str | None = None, errors: Mapping[str, Sequence[float]] | None = None,
                logx: bool = False, ax: Any = None) -> Any:
    """Plot several named curves over the same ``x`` (optional error bars); returns the axes.

    The x axis is labelled where the curves have points: on a log axis (``logx``, e.g. label budgets) every x
    value gets its tick and plain label (10, 20, 50, not 10^1) and there are no minor ticks or labels; integer x
    values on a linear axis (e.g. unfrozen blocks) get integer ticks only (each value while there are at most 12).
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    for name, values in curves.items():
        if len(values) != len(x):
            raise ValueError(f"curve {name!r} has {len(values)} points but x has {len(x)}")
        err = None if errors is None else errors.get(name)
        ax.errorbar(x, values, yerr=err, marker="o", capsize=3, label=name)
    if logx:
        ax.set_xscale("log")
    _label_x(ax, x, logx)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return ax


MAX_LABELLED_TICKS = 12


def _label_x(ax: Any, x: Sequence[float], logx: bool) -> None:
    """Ticks at the data's x values on a log axis, integer ticks for integer x (see :func:`plot_curves`)."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullFormatter, NullLocator

    values = np.asarray(x, dtype=np.float64)
    if values.size == 0 or not np.all(np.isfinite(values)):
        return
    points = sorted(set(values.tolist()))
    integers = bool(np.all(values == np.round(values)))
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    if logx:
        ax.xaxis.set_major_locator(FixedLocator(points))
        ax.xaxis.set_major_formatter(plain)
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_minor_formatter(NullFormatter())
    elif integers:
        if len(points) <= MAX_LABELLED_TICKS:
            ax.xaxis.set_major_locator(FixedLocator(points))
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{int(round(v))}"))
