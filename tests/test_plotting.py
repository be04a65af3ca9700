"""recsys_utils.plotting: shapes, data drawn, and input checks."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from recsys_utils.plotting import (
    MIN_FONT_PX,
    lorenz_curve,
    overlay_curves,
    popularity_plot,
    product_grid,
    rendered_font_px,
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
    title, caption = (t.get_text() for t in drawn[4].texts)
    assert title == "item 4" and caption == "e"


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
        assert [t.get_text() for t in ax.texts] == [f"title {i}", f"caption {i}"]
    # row-major order: the i-th drawn axes holds item i
    levels = [int(np.asarray(ax.images[0].get_array())[0, 0, 0]) for ax in drawn]
    assert levels == [40 * i for i in range(n)]


# --- legibility of product grids at the website's width ----------------------------


def _grid_texts(fig):
    return [t for ax in fig.axes for t in ax.texts if t.get_text()]


def _long_titles(n):
    words = "sporty crimson all-weather runners in recycled mesh for the office".split()
    return [" ".join(words[: 3 + i % 8]) for i in range(n)]


def test_rendered_font_px_by_hand():
    # 9 pt at 100 dpi is 12.5 px; a 14 in figure (1400 px) shown in 700 px is halved.
    assert rendered_font_px(9, 7.0) == pytest.approx(12.5)
    assert rendered_font_px(9, 14.0) == pytest.approx(6.25)
    with pytest.raises(ValueError, match="fontsize"):
        rendered_font_px(0, 7.0)


@pytest.mark.parametrize("n, ncols", [(8, 4), (12, 6), (8, 8), (5, 3)])
def test_product_grid_text_is_legible_in_the_column(n, ncols):
    images = np.zeros((n, 8, 8, 3), dtype=np.uint8)
    fig = product_grid(
        images,
        _long_titles(n),
        ncols=ncols,
        captions=[f"because you bought {t}" for t in _long_titles(n)[::-1]],
        suptitle="what to see",
    )
    width = fig.get_size_inches()[0]
    assert width <= 7.5 + 1e-9
    for text in _grid_texts(fig) + [fig._suptitle]:
        assert rendered_font_px(text.get_fontsize(), width) >= MIN_FONT_PX


@pytest.mark.parametrize("ncols", [4, 6, 8])
def test_product_grid_texts_do_not_overlap(ncols):
    n = 2 * ncols
    fig = product_grid(
        np.zeros((n, 8, 8, 3), dtype=np.uint8),
        _long_titles(n),
        ncols=ncols,
        captions=[f"because you bought {t}" for t in _long_titles(n)],
    )
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in _grid_texts(fig)]
    assert len(boxes) == 2 * n  # a title and a caption per item
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            overlap_w = min(a.x1, b.x1) - max(a.x0, b.x0)
            overlap_h = min(a.y1, b.y1) - max(a.y0, b.y0)
            assert overlap_w <= 0 or overlap_h <= 0, (a, b)
    # every text stays inside the figure's width (nothing cut at the sides)
    fig_w = fig.get_size_inches()[0] * fig.dpi
    assert all(b.x0 >= 0 and b.x1 <= fig_w for b in boxes)


def test_product_grid_shortens_long_titles_to_the_line_budget():
    fig = product_grid(
        np.zeros((1, 8, 8, 3), dtype=np.uint8),
        ["word " * 60],
        ncols=1,
        title_lines=2,
        wrap=10,
    )
    (title,) = _grid_texts(fig)
    lines = title.get_text().split("\n")
    assert len(lines) == 2 and lines[-1].endswith("...")
    assert all(len(line) <= 10 for line in lines)


def test_product_grid_keeps_the_old_keywords():
    # chapters 0, 1, 2, 4 and 5 call it with size= and wrap= or without them
    fig = product_grid(
        np.zeros((3, 8, 8, 3), dtype=np.uint8), ["a", "b", "c"], size=1.7, wrap=22
    )
    assert fig.get_size_inches()[0] == pytest.approx(3 * 1.7)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"ncols": 0}, "ncols"),
        ({"fontsize": -1.0}, "fontsize"),
        ({"size": 0.0}, "size"),
        ({"wrap": 2}, "wrap"),
        ({"title_lines": 0}, "title_lines"),
    ],
)
def test_product_grid_rejects_bad_sizes(kwargs, match):
    with pytest.raises(ValueError, match=match):
        product_grid(np.zeros((2, 4, 4, 3), dtype=np.uint8), ["a", "b"], **kwargs)
