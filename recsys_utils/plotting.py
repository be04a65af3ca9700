"""Figures the chapters share: product grids, overlaid training curves, popularity.

Matplotlib only, and no global state: each function draws on the axes it is given (or
new ones) and returns them, so a chapter can add titles and assert on the data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["product_grid", "overlay_curves", "popularity_plot", "lorenz_curve"]


def _plt():
    import matplotlib.pyplot as plt  # imported late: importing the package stays cheap

    return plt


def product_grid(
    images: np.ndarray,
    titles: Sequence[str],
    *,
    ncols: int = 6,
    captions: Sequence[str] | None = None,
    suptitle: str | None = None,
    size: float = 1.7,
    wrap: int = 22,
):
    """Draw items as a grid of pictures with their titles underneath.

    Args:
        images: uint8 array (n, height, width, 3) of product images.
        titles: n titles, wrapped at ``wrap`` characters.
        ncols: pictures per row.
        captions: optional second line per item (a reason, a score, a category).
        suptitle: title of the whole figure (say what to see).
        size: inches per picture.
        wrap: characters per title line.

    Returns:
        The matplotlib Figure.

    Raises:
        ValueError: when images is not (n, h, w, 3) or titles/captions have another length.
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
    if ncols <= 0:
        raise ValueError(f"ncols must be positive; got {ncols}")
    plt = _plt()
    ncols = min(ncols, max(n, 1))
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(size * ncols, size * nrows * 1.45), squeeze=False
    )
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index >= n:
            continue
        ax.imshow(images[index], interpolation="nearest")
        text = "\n".join(textwrap.wrap(str(titles[index]), wrap)[:3])
        if captions is not None:
            text += "\n" + "\n".join(textwrap.wrap(str(captions[index]), wrap)[:2])
        ax.set_title(text, fontsize=7, y=-0.02, va="top")
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
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
    """Overlay several curves on one axes (for example the PyTorch and TensorFlow losses).

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
    """Points of the Lorenz curve of a non-negative vector (for example item popularity).

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
