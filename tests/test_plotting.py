"""recsys_utils.plotting: shapes, data drawn, and input checks."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from recsys_utils.plotting import (
    lorenz_curve,
    overlay_curves,
    popularity_plot,
    product_grid,
)  # noqa: E402


def test_lorenz_curve_by_hand():
    # counts 1, 1, 2 -> sorted cumulative shares 1/4, 2/4, 4/4.
    x, y = lorenz_curve(np.array([2, 1, 1]))
    np.testing.assert_allclose(x, [0, 1 / 3, 2 / 3, 1])
    np.testing.assert_allclose(y, [0, 0.25, 0.5, 1.0])


def test_lorenz_equal_counts_is_the_diagonal():
    x, y = lorenz_curve(np.ones(5))
    np.testing.assert_allclose(x, y)


@pytest.mark.parametrize("bad", [np.array([]), np.array([1.0, -1.0]), np.zeros(3)])
def test_lorenz_rejects_bad_counts(bad):
    with pytest.raises(ValueError, match="counts"):
        lorenz_curve(bad)


def test_product_grid_draws_one_image_per_item():
    images = np.zeros((5, 8, 8, 3), dtype=np.uint8)
    fig = product_grid(
        images, [f"item {i}" for i in range(5)], ncols=3, captions=list("abcde")
    )
    drawn = [ax for ax in fig.axes if ax.images]
    assert len(drawn) == 5
    assert len(fig.axes) == 6  # 2 rows x 3 columns, the last one blank
    assert "item 4" in drawn[4].get_title() and "e" in drawn[4].get_title()


def test_product_grid_rejects_mismatched_titles():
    with pytest.raises(ValueError, match="titles"):
        product_grid(np.zeros((2, 4, 4, 3), dtype=np.uint8), ["only one"])
    with pytest.raises(ValueError, match="images"):
        product_grid(np.zeros((2, 4, 4)), ["a", "b"])


def test_overlay_curves_draws_every_curve():
    ax = overlay_curves({"PyTorch": [3.0, 2.0, 1.0], "TensorFlow": [3.0, 2.0, 1.0]})
    assert len(ax.lines) == 2
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [3, 2, 1])
    with pytest.raises(ValueError):
        overlay_curves({})


def test_popularity_plot_has_two_axes():
    fig = popularity_plot(np.array([10, 5, 1, 0, 3]))
    assert len(fig.axes) == 2


def test_overlay_curves_draws_each_curve_under_its_own_label():
    """Each label gets its own values (a bug drawing one curve under every label
    passed the older test, whose two curves were equal)."""
    curves = {"PyTorch": [3.0, 2.0, 1.5], "TensorFlow": [3.1, 2.2], "NumPy": [9.0]}
    ax = overlay_curves(curves, title="loss per epoch")
    assert [line.get_label() for line in ax.lines] == list(curves)
    for line, values in zip(ax.lines, curves.values()):
        np.testing.assert_allclose(line.get_ydata(), values)
        np.testing.assert_allclose(line.get_xdata(), np.arange(1, len(values) + 1))
    # identical curves stay distinguishable: different line styles
    styles = {(line.get_linestyle(), line.get_marker()) for line in ax.lines}
    assert len(styles) == 3
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == list(curves) and ax.get_title() == "loss per epoch"


def test_product_grid_pairs_each_image_with_its_own_title():
    """Each picture sits above its own title and caption (a bug pairing images with
    the wrong titles passed the older test, whose images were all black)."""
    n = 5
    images = np.zeros((n, 4, 4, 3), dtype=np.uint8)
    for i in range(n):
        images[i] = 40 * i  # image i is uniformly grey level 40 i
    titles = [f"title {i}" for i in range(n)]
    captions = [f"caption {i}" for i in range(n)]
    fig = product_grid(images, titles, ncols=2, captions=captions)
    drawn = [ax for ax in fig.axes if ax.images]
    assert len(drawn) == n
    for ax in drawn:
        level = int(np.asarray(ax.images[0].get_array())[0, 0, 0])
        i = level // 40
        assert ax.get_title() == f"title {i}\ncaption {i}"
    # row-major order: the i-th drawn axes holds item i
    levels = [int(np.asarray(ax.images[0].get_array())[0, 0, 0]) for ax in drawn]
    assert levels == [40 * i for i in range(n)]
