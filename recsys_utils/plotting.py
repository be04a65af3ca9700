"""Figures the chapters share: product grids, overlaid training curves, popularity.

Matplotlib only, and no global state: each function draws on the axes it is given (or
new ones) and returns them, so a chapter can add titles and assert on the data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .validation import check_int

__all__ = [
    "product_grid",
    "overlay_curves",
    "popularity_plot",
    "lorenz_curve",
    "rendered_font_px",
    "COLUMN_PX",
    "MIN_FONT_PX",
]


def _plt():
    import matplotlib.pyplot as plt  # imported late: importing the package stays cheap

    return plt


#: Width of the website's text column in pixels, and the smallest font (in pixels, once
#: a figure is scaled to that column) that stays legible there.
COLUMN_PX = 700
MIN_FONT_PX = 11.0
#: Figures are saved at Matplotlib's default 100 dots per inch.
_DPI = 100.0
# Average width of a character of Matplotlib's default font, in font sizes (DejaVu Sans
# is about 0.55 em per character for lower-case text); used to wrap titles to a cell.
_CHAR_EM = 0.58


def rendered_font_px(fontsize: float, fig_width_in: float, column_px: int = COLUMN_PX):
    """Height in pixels of a font once a figure is shown in the website's column.

    A PNG figure is saved at 100 dots per inch and scaled down (never up) to fit the
    column, so a wide figure's text shrinks with it.

    Args:
        fontsize: font size in points.
        fig_width_in: the figure's width in inches.
        column_px: the column's width in pixels.

    Returns:
        The font's rendered size in pixels.

    Raises:
        ValueError: when a size is not positive.
    """
    for name, value in (
        ("fontsize", fontsize),
        ("fig_width_in", fig_width_in),
        ("column_px", column_px),
    ):
        if not np.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a positive number; got {value!r}")
    px = fontsize / 72.0 * _DPI
    return px * min(1.0, column_px / (fig_width_in * _DPI))


def product_grid(
    images: np.ndarray,
    titles: Sequence[str],
    *,
    ncols: int = 6,
    captions: Sequence[str] | None = None,
    suptitle: str | None = None,
    size: float | None = None,
    wrap: int | None = None,
    fontsize: float = 9.0,
    width: float = 7.5,
    title_lines: int = 3,
    caption_lines: int = 3,
):
    """Draw items as a grid of pictures with their titles underneath.

    Legible at the website's width: the figure is at most ``width`` inches wide
    (7.5 in is 750 px, about the text column), so its text is not shrunk much when
    the page shows it, and titles are wrapped to the width of their picture. Long
    lists read better as several rows (``ncols=4`` for 8 items) than as one row.

    Args:
        images: uint8 array (n, height, width, 3) of product images.
        titles: n titles, wrapped to the picture's width (at most ``title_lines``
            lines; a longer title ends with "...").
        ncols: pictures per row.
        captions: optional second text per item (a reason, a score, a category),
            in italics under the title, at most ``caption_lines`` lines.
        suptitle: title of the whole figure (say what to see).
        size: inches per picture; ``None`` fits ``ncols`` pictures in ``width``
            (at most 1.7 in each).
        wrap: characters per title line; ``None`` derives it from the picture's
            width and the font size.
        fontsize: font size of titles and captions, in points (the figure's title is
            1.5 points larger).
        width: the figure's largest width in inches when ``size`` is ``None``.
        title_lines: lines kept of each title.
        caption_lines: lines kept of each caption.

    Returns:
        The matplotlib Figure.

    Raises:
        ValueError: when images is not (n, h, w, 3), titles/captions have another
            length, or a size or count is not positive.
    """
    import textwrap

    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(
            f"images must have shape (n, height, width, 3); got {images.shape}"
        )
    n = len(images)
    if len(titles) != n:
        raise ValueError(
            f"titles must have one entry per image ({n}); got {len(titles)}"
        )
    if captions is not None and len(captions) != n:
        raise ValueError(
            f"captions must have one entry per image ({n}); got {len(captions)}"
        )
    ncols = check_int(ncols, "ncols", low=1)
    for name, value in (("fontsize", fontsize), ("width", width)):
        if not np.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a positive number; got {value!r}")
    if size is not None and (not np.isfinite(size) or size <= 0):
        raise ValueError(f"size must be a positive number or None; got {size!r}")
    if wrap is not None:
        wrap = check_int(wrap, "wrap (an int >= 4, or None)", low=4)
    title_lines = check_int(title_lines, "title_lines", low=1)
    caption_lines = check_int(caption_lines, "caption_lines", low=1)
    plt = _plt()
    ncols = min(int(ncols), max(n, 1))
    nrows = max(1, -(-n // ncols))
    if size is None:
        size = min(1.7, width / ncols)
    if wrap is None:  # characters that fit under one picture, with a small margin
        wrap = max(4, int(0.92 * size * 72.0 / (_CHAR_EM * fontsize)))

    def lines(text: str, keep: int) -> list[str]:
        out = textwrap.wrap(str(text), wrap) or [""]
        if len(out) > keep:
            out = out[:keep]
            out[-1] = out[-1][: max(1, wrap - 3)].rstrip() + "..."
        return out

    texts = []
    for index in range(n):
        title = lines(titles[index], title_lines)
        caption = lines(captions[index], caption_lines) if captions is not None else []
        texts.append((title, caption))
    line_pt = 1.4 * fontsize  # baseline to baseline at Matplotlib's default spacing
    text_rows = max(len(t) + len(c) for t, c in texts) if texts else 1
    text_in = (text_rows * line_pt + 6.0) / 72.0  # inches of text under each picture
    top_in = (2.2 * (fontsize + 1.5) / 72.0) if suptitle else 0.05
    fig_height = nrows * (size + text_in) + top_in
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(size * ncols, fig_height), squeeze=False
    )
    fig.subplots_adjust(
        left=0.005,
        right=0.995,
        top=1.0 - top_in / fig_height,
        bottom=text_in / fig_height,
        hspace=text_in / size,
        wspace=0.06,
    )
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index >= n:
            continue
        ax.imshow(images[index], interpolation="nearest")
        title, caption = texts[index]
        drawn = ax.annotate(
            "\n".join(title),
            xy=(0.5, 0.0),
            xycoords="axes fraction",
            xytext=(0.0, -3.0),
            textcoords="offset points",
            ha="center",
            va="top",
            fontsize=fontsize,
        )
        if caption:
            ax.annotate(
                "\n".join(caption),
                xy=(0.5, 0.0),
                xycoords=drawn,  # just under the title's box, however tall it is
                xytext=(0.0, -1.0),
                textcoords="offset points",
                ha="center",
                va="top",
                fontsize=fontsize,
                style="italic",
                color="#333333",
            )
    if suptitle:
        fig.suptitle(
            suptitle, fontsize=fontsize + 1.5, y=1.0 - 0.4 * top_in / fig_height
        )
    return fig


def overlay_curves(
    curves: Mapping[str, Sequence[float]],
    *,
    ax=None,
    xlabel: str = "epoch",
    ylabel: str = "loss",
    title: str | None = None,
    styles: Sequence[str] = ("-o", "--x", ":s", "-.^"),
):
    """Overlay several curves on one axes (e.g. the PyTorch and TensorFlow losses).

    Args:
        curves: label -> values; each curve is drawn against 1..len(values).
        ax: axes to draw on; new ones when None.
        xlabel, ylabel, title: axis labels and title.
        styles: line styles, cycled, so identical curves stay distinguishable.

    Returns:
        The axes.

    Raises:
        ValueError: when curves is empty or a curve is empty.
    """
    if not curves:
        raise ValueError("curves must name at least one curve")
    plt = _plt()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for index, (label, values) in enumerate(curves.items()):
        values = np.asarray(values, dtype=float)
        if values.size == 0:
            raise ValueError(f"curve {label!r} is empty")
        ax.plot(
            np.arange(1, values.size + 1),
            values,
            styles[index % len(styles)],
            label=label,
            markersize=4,
            alpha=0.85,
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


def lorenz_curve(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points of the Lorenz curve of a non-negative vector (e.g. item popularity).

    Args:
        counts: 1-D non-negative array.

    Returns:
        (x, y): share of items (sorted from least to most popular) and the share of
        the total they hold, both starting at 0 and ending at 1.

    Raises:
        ValueError: on an empty, negative or all-zero vector.
    """
    counts = np.asarray(counts, dtype=float).ravel()
    if counts.size == 0:
        raise ValueError("counts must not be empty")
    if (counts < 0).any() or counts.sum() <= 0:
        raise ValueError("counts must be non-negative with a positive sum")
    y = np.concatenate([[0.0], np.cumsum(np.sort(counts)) / counts.sum()])
    x = np.linspace(0.0, 1.0, counts.size + 1)
    return x, y


def popularity_plot(counts: np.ndarray, *, title: str | None = None):
    """Item popularity on log-log axes beside its Lorenz curve.

    Args:
        counts: interactions per item.
        title: figure title.

    Returns:
        The matplotlib Figure with two axes.
    """
    plt = _plt()
    counts = np.asarray(counts, dtype=float)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    ranked = np.sort(counts)[::-1]
    positive = ranked[ranked > 0]
    ax1.loglog(np.arange(1, positive.size + 1), positive, ".", markersize=3)
    ax1.set_xlabel("item rank by popularity")
    ax1.set_ylabel("interactions")
    ax1.set_title("popularity: a few items take most interactions")
    x, y = lorenz_curve(counts)
    ax2.plot(x, y, label="items")
    ax2.plot([0, 1], [0, 1], "k--", lw=0.8, label="perfect equality")
    ax2.set_xlabel("share of items (least popular first)")
    ax2.set_ylabel("share of interactions")
    ax2.set_title("Lorenz curve")
    ax2.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
