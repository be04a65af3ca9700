"""A full-size stand-in for MovieLens-100K, for testing the chapters' real-data sections.

The real archive cannot be downloaded here; this one has the official layout and counts
(100,000 ratings by 943 users on 1,682 items, u1-u5 and ua/ub splits, latin-1 files), so
``load_movielens_100k`` accepts it and every chapter's MovieLens branch runs on it. The
ratings are random: the numbers it produces mean nothing, only that the code runs.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

GENRES = [
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
]
NUM_USERS, NUM_ITEMS, NUM_RATINGS = 943, 1682, 100_000
OCCUPATIONS = ["student", "other", "educator", "engineer", "writer", "technician"]


def _ratings_text(rows) -> str:
    return "".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in rows)


def write_fake_movielens(home: Path, seed: int = 0) -> Path:
    """Write ``home/ml-100k.zip`` in the ML-100K format; return its path."""
    rng = np.random.default_rng(seed)
    pairs = set()
    for u in range(
        NUM_USERS
    ):  # every user has at least 20 ratings, as in the real data
        pairs.update((u, int(i)) for i in rng.choice(NUM_ITEMS, 20, replace=False))
    pairs.update(
        (int(rng.integers(NUM_USERS)), i) for i in range(NUM_ITEMS)
    )  # every item rated
    popularity = 1.0 / np.arange(1, NUM_ITEMS + 1) ** 0.8
    popularity /= popularity.sum()
    while len(pairs) < NUM_RATINGS:
        batch = zip(
            rng.integers(NUM_USERS, size=5000),
            rng.choice(NUM_ITEMS, 5000, p=popularity),
        )
        for pair in batch:
            pairs.add((int(pair[0]), int(pair[1])))
            if len(pairs) == NUM_RATINGS:
                break
    pairs = sorted(pairs)
    rows = [
        (
            u + 1,
            i + 1,
            int(rng.integers(1, 6)),
            int(874_724_710 + rng.integers(0, 20_000_000)),
        )
        for u, i in pairs
    ]
    items = []
    for i in range(NUM_ITEMS):
        flags = ["0"] * len(GENRES)
        flags[int(rng.integers(1, len(GENRES)))] = "1"
        year = int(rng.integers(1930, 1998))
        items.append(
            "|".join(
                [
                    str(i + 1),
                    f"Movie {i + 1} ({year})",
                    f"01-Jan-{year}",
                    "",
                    "http://x",
                    *flags,
                ]
            )
        )
    users = [
        f"{u + 1}|{int(rng.integers(15, 70))}|{'MF'[u % 2]}|{OCCUPATIONS[u % len(OCCUPATIONS)]}|{10000 + u}"
        for u in range(NUM_USERS)
    ]
    files = {
        "u.data": _ratings_text(rows),
        "u.item": "\n".join(items) + "\n",
        "u.user": "\n".join(users) + "\n",
        "u.genre": "".join(f"{g}|{k}\n" for k, g in enumerate(GENRES)),
    }
    order = rng.permutation(NUM_RATINGS)
    for fold in range(5):
        test = set(order[fold * 20_000 : (fold + 1) * 20_000].tolist())
        files[f"u{fold + 1}.base"] = _ratings_text(
            r for k, r in enumerate(rows) if k not in test
        )
        files[f"u{fold + 1}.test"] = _ratings_text(
            r for k, r in enumerate(rows) if k in test
        )
    first_ten = {}
    for k, r in enumerate(rows):
        first_ten.setdefault(r[0], []).append(k)
    test = {k for ks in first_ten.values() for k in ks[:10]}
    for name in ("ua", "ub"):
        files[f"{name}.base"] = _ratings_text(
            r for k, r in enumerate(rows) if k not in test
        )
        files[f"{name}.test"] = _ratings_text(
            r for k, r in enumerate(rows) if k in test
        )
    home.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in files.items():
            zf.writestr(f"ml-100k/{name}", text.encode("latin-1"))
    path = home / "ml-100k.zip"
    path.write_bytes(buf.getvalue())
    return path
