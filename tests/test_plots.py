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
