import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tlhelpers import plots  # noqa: E402


def test_show_images_grid_and_titles():
    fig = plots.show_images(np.zeros((5, 8, 8)), labels=[0, 1, 2, 3, 4], class_names=list("abcde"), ncols=3)
    axes = fig.axes
    assert len(axes) == 6
    assert [ax.get_title() for ax in axes[:5]] == list("abcde")
    plt.close(fig)


def test_show_images_shares_one_grey_range():
    faint = np.full((2, 4, 4), 0.2)
    fig = plots.show_images(faint)
    assert fig.axes[0].images[0].get_clim() == (0.0, 1.0), "a faint image must look faint"
    fig2 = plots.show_images(np.zeros((1, 4, 4), dtype=np.uint8))
    assert fig2.axes[0].images[0].get_clim() == (0.0, 255.0)
    plt.close("all")


def test_show_images_rejects_bad_shapes():
    with pytest.raises(ValueError, match="images must be"):
        plots.show_images(np.zeros((8, 8)))
    with pytest.raises(ValueError, match="labels"):
        plots.show_images(np.zeros((2, 8, 8)), labels=[1])


def test_plot_curves():
    ax = plots.plot_curves([1, 2, 3], {"a": [0.1, 0.2, 0.3], "b": [0.3, 0.2, 0.1]}, "x", "y",
                           errors={"a": [0.01, 0.01, 0.01]}, logx=True)
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "x"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    with pytest.raises(ValueError, match="3 points"):
        plots.plot_curves([1, 2], {"a": [1, 2, 3]}, "x", "y")
    plt.close("all")


def _labels(ax, which="major"):
    ax.figure.canvas.draw()
    ticks = ax.xaxis.get_major_ticks() if which == "major" else ax.xaxis.get_minor_ticks()
    lo, hi = ax.get_xlim()
    return [t.label1.get_text() for t in ticks if t.label1.get_visible() and lo <= t.get_loc() <= hi]


def test_log_axis_labels_every_budget_and_nothing_else():
    budgets = [5, 10, 20, 50, 100, 200]
    ax = plots.plot_curves(budgets, {"a": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]}, "labels per class", "accuracy", logx=True)
    assert _labels(ax) == ["5", "10", "20", "50", "100", "200"]
    assert [label for label in _labels(ax, "minor") if label] == [], "no stray minor tick labels"
    assert ax.get_xscale() == "log"
    plt.close("all")


def test_block_counts_get_integer_ticks():
    ax = plots.plot_curves([0, 1, 2, 3], {"a": [0.5, 0.6, 0.7, 0.8]}, "unfrozen blocks", "accuracy")
    assert _labels(ax) == ["0", "1", "2", "3"]
    ax = plots.plot_curves(list(range(0, 40, 2)), {"a": list(range(20))}, "blocks", "y")
    labels = _labels(ax)
    assert labels and all(label.lstrip("-").isdigit() for label in labels), labels
    ax = plots.plot_curves([0.5, 1.5], {"a": [1, 2]}, "x", "y")        # not integers: matplotlib's own ticks
    assert any("." in label for label in _labels(ax)), _labels(ax)
    plt.close("all")
