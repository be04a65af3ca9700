"""A generated stand-in for MovieLens-100K, to test the chapters' real-data sections.

The real archive may not be redistributed and cannot be downloaded here. This one has
MovieLens-100K's *format* (the ``ml-100k/`` files, latin-1: ``u.data``, ``u.item`` with
24 fields and 19 genre flags, ``u.user``, ``u.genre``, ``u.occupation``, ``u.info``,
``u1``..``u5`` and ``ua``/``ub`` base/test files made as ``mku.sh`` makes them) and a
*structure* close to it:

* 943 users, 1,682 movies, 100,000 ratings; every user has at least 20 ratings, every
  movie at least one;
* heavy-tailed degrees: users from 20 to about 700 ratings (median about 65), movies
  from 1 to about 580 (median about 27, about 8 % with a single rating, about 65 % of
  the ratings on the 20 % most rated movies);
* the rating histogram of MovieLens (6 / 11 / 27 / 34 / 21 % for 1..5 stars);
* ratings made of a user bias, a movie bias (larger for famous and for old movies), a
  low-rank taste shaped by the genres and the release year, and noise; users pick the
  movies they rate by fame and by taste, so the co-ratings carry the taste, as on
  MovieLens (implicit-feedback models beat popularity);
* timestamps from 20 Sep 1997 to 22 Apr 1998, each user active in a window (many in a
  single sitting, some over months), well-known movies rated first, 1998 releases
  rated only after their release date;
* made-up titles with their year, genres, ages, genders, occupations, zip codes; as in
  the archive, movie 267 has the title "unknown" and no date.

The numbers it gives mean nothing about MovieLens; what carries over is that the code
runs and that comparisons worded to hold on the real data ("MF beats biases-only",
"EASE beats popularity") come out the same way.

Use: ``write_movielens_standin(home, seed=0)`` writes ``home/ml-100k.zip`` (byte for
byte the same for the same seed), as does
``python tests/movielens_standin.py DIR [--seed N]``. Then ``RECSYS_DATA_HOME=DIR``
makes ``load_movielens_100k()`` read it.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from recsys_utils.movielens import _ML_GENRES as GENRES  # the 19 flags of u.item

__all__ = [
    "write_movielens_standin",
    "standin_files",
    "NUM_USERS",
    "NUM_ITEMS",
    "NUM_RATINGS",
    "GENRES",
    "OCCUPATIONS",
    "RATING_SHARES",
    "T_START",
    "T_END",
]

NUM_USERS, NUM_ITEMS, NUM_RATINGS = 943, 1682, 100_000
#: the collection period stated in MovieLens-100K's README (unix seconds, UTC)
T_START, T_END = 874_724_710, 893_286_638
#: shares of 1..5 stars on MovieLens-100K
RATING_SHARES = (0.0611, 0.1137, 0.2715, 0.3417, 0.2120)
#: how often each genre flag is set on MovieLens-100K (1,682 movies), "unknown" first
_GENRE_COUNTS = (2, 251, 135, 42, 122, 505, 109, 50, 725, 22, 24, 92, 56, 61, 247,
                 101, 251, 71, 27)  # fmt: skip
OCCUPATIONS = (
    "administrator",
    "artist",
    "doctor",
    "educator",
    "engineer",
    "entertainment",
    "executive",
    "healthcare",
    "homemaker",
    "lawyer",
    "librarian",
    "marketing",
    "none",
    "other",
    "programmer",
    "retired",
    "salesman",
    "scientist",
    "student",
    "technician",
    "writer",
)
_OCCUPATION_COUNTS = (79, 28, 7, 95, 67, 18, 32, 16, 7, 12, 51, 26, 9, 105, 66, 14,
                      12, 31, 196, 27, 45)  # fmt: skip
# Quantile anchors (share of users / movies, most active first -> number of ratings):
# the shape of MovieLens-100K's degree distributions.
_USER_DEGREE = ((0.0, 737), (0.01, 520), (0.05, 330), (0.1, 250), (0.25, 150),
                (0.5, 65), (0.75, 33), (0.9, 24), (1.0, 20))  # fmt: skip
_ITEM_DEGREE = ((0.0, 583), (0.005, 470), (0.03, 280), (0.1, 155), (0.2, 95),
                (0.35, 49), (0.5, 26.5), (0.65, 12.5), (0.8, 5), (0.9, 1.9), (0.92, 1),
                (1.0, 1))  # fmt: skip
_DIM = 8  # rank of the taste
# How strongly taste and noise drive who rates what, and the parts of a rating.
_KNOBS = {
    "select_taste": 1.1,
    "select_noise": 0.6,
    "select_share": 0.5,
    "rate_taste": 0.9,
    "rate_noise": 0.97,
    "user_bias": 0.35,
    "item_fame": 0.7,
    "item_old": 0.35,
    "item_bias": 0.25,
}
_SIGNATURE = "generated stand-in for MovieLens-100K (tests/movielens_standin.py)"
_DAY = 86_400

# Words of the made-up titles: a few per genre, so that a title says a little about
# its movie, as real titles do.
_WORDS = {
    "Action": ("Fist", "Fury", "Strike", "Target", "Bullet", "Heat", "Force"),
    "Adventure": ("Quest", "Island", "Treasure", "Journey", "Jungle", "Voyage"),
    "Animation": ("Little", "Magic", "Toy", "Dragon", "Kingdom"),
    "Children's": ("Puppy", "Kids", "Friends", "Home", "Little"),
    "Comedy": ("Crazy", "Party", "Wedding", "Dumb", "Nutty", "Trouble", "Funny"),
    "Crime": ("Heist", "Killer", "Money", "Street", "Gang", "Cop"),
    "Documentary": ("Portrait", "Story", "Life", "Voices", "Years"),
    "Drama": (
        "Heart",
        "Letter",
        "Father",
        "Sister",
        "Promise",
        "River",
        "Silence",
        "Days",
        "Lives",
    ),  # fmt: skip
    "Fantasy": ("Spell", "Wizard", "Legend", "Enchanted"),
    "Film-Noir": ("Shadow", "Dame", "Double", "Night"),
    "Horror": ("Blood", "Dead", "Scream", "Nightmare", "Evil", "Grave"),
    "Musical": ("Song", "Dance", "Melody", "Broadway"),
    "Mystery": ("Secret", "Clue", "Stranger", "Vanishing"),
    "Romance": ("Love", "Kiss", "Paris", "Summer", "Bride", "Affair"),
    "Sci-Fi": ("Star", "Planet", "Alien", "Future", "Robot", "Galaxy"),
    "Thriller": ("Fear", "Edge", "Hunt", "Witness", "Trap", "Panic"),
    "War": ("Battle", "Soldier", "Front", "Glory", "Platoon"),
    "Western": ("Outlaw", "Frontier", "Gun", "Ranch", "Sheriff"),
    "unknown": ("Untitled",),
}
_COMMON = ("City", "Man", "Woman", "Game", "Last", "Blue", "Road", "House", "Night",
           "Big", "Time", "World", "Café", "Señor", "Day", "Moon")  # fmt: skip
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
           "Nov", "Dec")  # fmt: skip


# ---------------------------------------------------------------------------
# Degree sequences
# ---------------------------------------------------------------------------


def _degree_curve(anchors, n: int) -> np.ndarray:
    """Degrees by rank, log-linear between the quantile anchors (most active first)."""
    q = (np.arange(n) + 0.5) / n
    qa, da = zip(*anchors)
    return np.exp(np.interp(q, qa, np.log(da)))


def _user_degrees(rng: np.random.Generator) -> np.ndarray:
    """943 counts, at least 20 each, summing to exactly 100,000, in random order."""
    base = _degree_curve(_USER_DEGREE, NUM_USERS)
    noisy = base * np.exp(rng.normal(0.0, 0.08, NUM_USERS))
    noisy = 20 + (noisy - 20).clip(0) * (NUM_RATINGS - 20 * NUM_USERS) / (
        (noisy - 20).clip(0).sum()
    )
    counts = np.floor(noisy).astype(np.int64)
    short = NUM_RATINGS - counts.sum()  # hand out the remainder by largest fraction
    counts[np.argsort(counts - noisy)[:short]] += 1
    return rng.permutation(counts)


# ---------------------------------------------------------------------------
# Items and users
# ---------------------------------------------------------------------------


def _items(rng: np.random.Generator):
    """Genre flags, years, fame and taste vectors of the movies."""
    flags = np.zeros((NUM_ITEMS, len(GENRES)), dtype=np.int64)
    p = np.asarray(_GENRE_COUNTS[1:], dtype=np.float64)
    num = rng.choice([1, 2, 3, 4], NUM_ITEMS, p=[0.5, 0.33, 0.13, 0.04])
    for i in range(NUM_ITEMS):  # 1,682 small draws without replacement
        flags[i, 1 + rng.choice(len(p), num[i], replace=False, p=p / p.sum())] = 1
    flags[rng.choice(NUM_ITEMS, 2, replace=False)] = 0
    flags[flags.sum(axis=1) == 0, 0] = 1  # "unknown"
    # Years: most in the 1990s (1995-1997 the most), a tail of older movies.
    recent = rng.random(NUM_ITEMS) < 0.72
    years = np.where(
        recent,
        1997 - np.minimum(rng.geometric(0.3, NUM_ITEMS) - 1, 9),
        np.round(1989 - rng.gamma(2.0, 10.0, NUM_ITEMS)).clip(1922, 1989),
    ).astype(np.int64)
    years[rng.random(NUM_ITEMS) < 0.015] = 1998
    # Fame: what makes a movie widely seen; recent releases and a few classics.
    fame = rng.normal(0.0, 1.0, NUM_ITEMS) + 0.35 * (years >= 1995)
    # Taste vectors: genres and age shape them, plus the movie's own part.
    genre_vecs = rng.normal(0.0, 1.0, (len(GENRES), _DIM))
    age = ((1997 - years) / 15.0).clip(0, 3)
    age_dir = rng.normal(0.0, 1.0, _DIM)
    age_dir /= np.linalg.norm(age_dir)
    v = flags @ genre_vecs / np.sqrt(flags.sum(axis=1, keepdims=True))
    v = 0.8 * v + 0.6 * age[:, None] * age_dir + 0.6 * rng.normal(0, 1, v.shape)
    return flags, years, fame, v


def _users(rng: np.random.Generator):
    """Ages, genders, occupations and zip codes of the users."""
    young = rng.random(NUM_USERS) < 0.35
    ages = np.where(
        young, rng.normal(23.0, 4.0, NUM_USERS), rng.normal(38.0, 11.0, NUM_USERS)
    )
    ages = np.round(ages).clip(7, 73).astype(np.int64)
    genders = np.where(rng.random(NUM_USERS) < 0.71, "M", "F")
    p = np.asarray(_OCCUPATION_COUNTS, dtype=np.float64)
    occupations = np.asarray(OCCUPATIONS)[rng.choice(len(p), NUM_USERS, p=p / p.sum())]
    zips = [f"{z:05d}" for z in rng.integers(1000, 99999, NUM_USERS)]
    letters = "ABCEGHJKLMNPRSTVXY"
    for u in np.flatnonzero(rng.random(NUM_USERS) < 0.02):  # a few Canadian codes
        a, b, c = rng.choice(list(letters), 3)
        d, e = rng.integers(0, 10, 2)
        zips[u] = f"{a}{d}{b}{e}{c}"
    return ages, genders, occupations, zips


# ---------------------------------------------------------------------------
# Who rates what, how, and when
# ---------------------------------------------------------------------------


def _select(rng, n_u, fame, affinity, available):
    """Each user's movies: the top n_u of fame + taste + Gumbel noise, with the
    movies' weights calibrated so that their degrees follow MovieLens' curve."""
    target = np.empty(NUM_ITEMS)
    order = np.argsort(-(fame + rng.normal(0.0, 0.3, NUM_ITEMS)))
    target[order] = _degree_curve(_ITEM_DEGREE, NUM_ITEMS)
    target *= NUM_RATINGS / target.sum()
    noise = rng.gumbel(size=(NUM_USERS, NUM_ITEMS))
    base = _KNOBS["select_taste"] * affinity + _KNOBS["select_noise"] * noise
    base[~available] = -np.inf
    weight = np.log(target)
    for _ in range(12):  # rescale the weights towards the target degrees
        keys = base + weight
        kth = -np.sort(-keys, axis=1)[np.arange(NUM_USERS), n_u - 1]
        chosen = keys >= kth[:, None]
        got = chosen.sum(axis=0)
        weight += 0.9 * (np.log(target + 0.5) - np.log(got + 0.5))
    # every movie rated at least once: its most eager user swaps it in for their
    # least eager pick among movies with two ratings or more
    for i in np.flatnonzero(got == 0):
        u = int(np.argmax(np.where(available[:, i], keys[:, i], -np.inf)))
        picks = np.flatnonzero(chosen[u])
        spare = picks[got[picks] >= 2]
        j = (
            spare[np.argmin(keys[u, spare])]
            if spare.size
            else picks[np.argmax(got[picks])]
        )
        chosen[u, j], chosen[u, i] = False, True
        got[j] -= 1
        got[i] += 1
    return chosen


def _windows(rng, n_u):
    """Each user's active period [start, end]: a sitting, or weeks to months."""
    span = T_END - T_START
    long_ = rng.random(NUM_USERS) < 0.25 + 0.45 * (n_u > np.median(n_u))
    length = np.where(
        long_,
        np.exp(rng.uniform(np.log(3 * _DAY), np.log(span), NUM_USERS)),
        np.exp(rng.uniform(np.log(600), np.log(2 * _DAY), NUM_USERS)),
    )
    length = np.minimum(length, span - 1)
    start = T_START + rng.random(NUM_USERS) * (span - length)
    return start, start + length


def _ratings(rng, chosen, bias_u, bias_i, affinity):
    """Stars: user bias + movie bias + taste + noise, cut at MovieLens' shares."""
    users, items = np.nonzero(chosen)
    latent = (
        bias_u[users]
        + bias_i[items]
        + _KNOBS["rate_taste"] * affinity[users, items]
        + rng.normal(0.0, _KNOBS["rate_noise"], len(users))
    )
    cuts = np.quantile(latent, np.cumsum(RATING_SHARES)[:-1])
    stars = 1 + np.searchsorted(cuts, latent, side="right")
    return users, items, stars


def _times(rng, users, items, fame, start, end, release):
    """Timestamps: in the user's window, famous movies first, after the release."""
    n = len(users)
    # order within each user: fame plus noise, the most famous first
    key = -fame[items] + rng.gumbel(size=n) * 2.0
    order = np.lexsort((key, users))
    u_sorted = users[order]
    # each user's times: sorted fractions of the window, front-loaded (a first
    # sitting), handed out in that order
    frac = rng.beta(0.6, 1.4, n)
    frac = frac[np.lexsort((frac, u_sorted))]
    t = np.empty(n)
    t[order] = start[u_sorted] + frac * (end[u_sorted] - start[u_sorted])
    late = t < release[items]  # a 1998 release: rated between release and the end
    t[late] = release[items[late]] + rng.random(late.sum()) * (
        end[users[late]] - release[items[late]]
    )
    return np.floor(t).astype(np.int64)


def _title(rng, flags_row, year, used):
    genres = [GENRES[g] for g in np.flatnonzero(flags_row)]
    while True:
        words = [str(rng.choice(_WORDS[str(rng.choice(genres))]))]
        if rng.random() < 0.6:
            words.append(str(rng.choice(_COMMON)))
        if rng.random() < 0.3:
            words.insert(0, "The")
        rng.shuffle(words[-2:])
        title = " ".join(words)
        if rng.random() < 0.1:
            title += f" {int(rng.integers(2, 4))}"
        full = f"{title} ({year})"
        if full not in used:
            used.add(full)
            return full


# ---------------------------------------------------------------------------
# The files
# ---------------------------------------------------------------------------


def _rating_files(data: pd.DataFrame) -> dict[str, str]:
    """``u.data`` (in its random order) and the u1..u5, ua, ub files, as mku.sh makes
    them: u<k>.test is the k-th block of 20,000 lines of u.data, ua.test / ub.test the
    1st-10th / 11th-20th rating of each user in u.data's order (allbut.pl); every
    file but u.data is sorted by user, then item."""
    cols = [data[c].tolist() for c in ("user_id", "item_id", "rating", "timestamp")]
    lines = np.array([f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in zip(*cols)], object)
    by_user = np.lexsort((data["item_id"].to_numpy(), data["user_id"].to_numpy()))

    def text(mask: np.ndarray) -> str:
        return "".join(lines[by_user[mask[by_user]]])

    files = {"u.data": "".join(lines)}
    row = np.arange(len(data))
    for k in range(5):
        test = (row >= k * 20_000) & (row < (k + 1) * 20_000)
        files[f"u{k + 1}.base"], files[f"u{k + 1}.test"] = text(~test), text(test)
    nth = (data.groupby("user_id").cumcount() + 1).to_numpy()
    for name, lo, hi in (("ua", 1, 10), ("ub", 11, 20)):
        test = (nth >= lo) & (nth <= hi)
        files[f"{name}.base"], files[f"{name}.test"] = text(~test), text(test)
    return files


def standin_files(seed: int = 0) -> dict[str, str]:
    """The stand-in's files, generated from ``seed``.

    Args:
        seed: seed of every random draw.

    Returns:
        ``{file name: text}`` for the files of ``ml-100k/`` (ids 1-based, as in the
        archive).
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int; got {seed!r}")
    rng = np.random.default_rng(seed)
    flags, years, fame, v = _items(rng)
    ages, genders, occupations, zips = _users(rng)
    n_u = _user_degrees(rng)

    # taste: user vectors against movie vectors; some users care more than others
    def taste():
        w = rng.normal(0.0, 1.0, (NUM_USERS, _DIM)) * rng.gamma(
            4.0, 0.25, (NUM_USERS, 1)
        )
        a = (w @ v.T) / np.sqrt(_DIM)
        return (a - a.mean()) / a.std()

    # what a user likes (it sets the stars) and what they choose to watch share a part
    affinity = taste()
    rho = _KNOBS["select_share"]
    watch = rho * affinity + np.sqrt(1 - rho**2) * taste()

    start, end = _windows(rng, n_u)
    release = np.full(NUM_ITEMS, -np.inf)
    new = np.flatnonzero(years == 1998)
    release[new] = T_START + rng.uniform(0.55, 0.9, len(new)) * (T_END - T_START)
    available = end[:, None] > release[None, :]

    chosen = _select(rng, n_u, fame, watch, available)
    bias_u = rng.normal(0.0, _KNOBS["user_bias"], NUM_USERS)
    old = (1990 - years).clip(0) / 20.0
    bias_i = (
        _KNOBS["item_fame"] * fame
        + _KNOBS["item_old"] * old
        + rng.normal(0.0, _KNOBS["item_bias"], NUM_ITEMS)
    )
    users, items, stars = _ratings(rng, chosen, bias_u, bias_i, affinity)
    times = _times(rng, users, items, fame, start, end, release)

    data = pd.DataFrame(
        {
            "user_id": users + 1,
            "item_id": items + 1,
            "rating": stars,
            "timestamp": times,
        }
    )
    data = data.iloc[rng.permutation(len(data))].reset_index(drop=True)

    files = _rating_files(data)

    first_rating = pd.Series(times).groupby(items).min().reindex(range(NUM_ITEMS))
    used: set[str] = set()
    lines = []
    for i in range(NUM_ITEMS):
        title = _title(rng, flags[i], years[i], used)
        if years[i] == 1998:
            when = pd.Timestamp(
                min(release[i], first_rating[i]) - _DAY, unit="s"
            ).strftime("%d-%b-%Y")
        elif years[i] >= 1994:
            day = pd.Timestamp(f"{years[i]}-01-01") + pd.Timedelta(
                days=int(rng.integers(0, 365))
            )
            when = day.strftime("%d-%b-%Y")
        else:
            when = f"01-Jan-{years[i]}"
        url = "http://us.imdb.com/M/title-exact?" + title.replace(" ", "%20")
        lines.append("|".join([str(i + 1), title, when, "", url, *map(str, flags[i])]))
    # as in the archive, movie 267 is a placeholder: title "unknown", no dates, no url
    lines[266] = "|".join(["267", "unknown", "", "", "", "1", *["0"] * 18])
    files["u.item"] = "\n".join(lines) + "\n"
    files["u.user"] = "".join(
        f"{u + 1}|{ages[u]}|{genders[u]}|{occupations[u]}|{zips[u]}\n"
        for u in range(NUM_USERS)
    )
    files["u.genre"] = "".join(f"{g}|{k}\n" for k, g in enumerate(GENRES)) + "\n"
    files["u.occupation"] = "".join(f"{o}\n" for o in OCCUPATIONS)
    files["u.info"] = f"{NUM_USERS} users\n{NUM_ITEMS} items\n{NUM_RATINGS} ratings\n"
    files["README"] = (
        f"This is a {_SIGNATURE}, seed {seed}.\nIt is NOT MovieLens: "
        "every rating, title and user is made up. MovieLens-100K itself is at "
        "https://grouplens.org/datasets/movielens/100k/\n"
    )
    return files


def _is_standin_zip(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            return _SIGNATURE in zf.read("ml-100k/README").decode("latin-1")
    except (zipfile.BadZipFile, KeyError, OSError):
        return False


def write_movielens_standin(home, seed: int = 0) -> Path:
    """Write the stand-in archive ``home/ml-100k.zip``.

    The archive is the same byte for byte for the same seed. An ``ml-100k.zip`` that
    this function did not write (the real archive, say) is never overwritten: that is
    a ValueError. A stand-in written before is replaced, and so is its extracted copy
    ``home/ml-100k/`` (the loader's cache), so that the next load reads the new one.

    Args:
        home: the folder (created if needed); point ``RECSYS_DATA_HOME`` at it.
        seed: seed of the generator.

    Returns:
        the path of the archive.
    """
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    path = home / "ml-100k.zip"
    extracted = home / "ml-100k"
    if path.exists() and not _is_standin_zip(path):
        raise ValueError(
            f"{path} exists and is not a stand-in written by this module (is it the "
            "real archive?); choose another home, or move it away"
        )
    readme = extracted / "README"
    if extracted.exists():
        ours = readme.is_file() and _SIGNATURE in readme.read_text(encoding="latin-1")
        if not ours:
            raise ValueError(
                f"{extracted} exists and is not an extracted stand-in; choose another "
                "home, or move it away"
            )
    files = standin_files(seed)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in sorted(files):  # fixed dates: the same bytes for the same seed
            info = zipfile.ZipInfo(f"ml-100k/{name}", date_time=(1998, 4, 22, 0, 0, 0))
            zf.writestr(
                info,
                files[name].encode("latin-1"),
                compress_type=zipfile.ZIP_DEFLATED,
                compresslevel=1,
            )
    fd, tmp = tempfile.mkstemp(prefix=".ml-100k-", suffix=".part", dir=home)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(buf.getvalue())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if extracted.exists():
        shutil.rmtree(extracted)
    return path


def main(argv=None) -> int:
    """Command line: ``python tests/movielens_standin.py DIR [--seed N]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("home", help="folder to write ml-100k.zip into")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        path = write_movielens_standin(args.home, seed=args.seed)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path}; use it with RECSYS_DATA_HOME={path.parent}")
    return 0


if __name__ == "__main__":
    sys.exit(main())


if __name__ == "__main__":  # make test: python tests/movielens_standin.py FOLDER
    import sys

    if len(sys.argv) != 2:
        raise SystemExit("usage: python tests/movielens_standin.py FOLDER")
    print(f"wrote {write_movielens_standin(Path(sys.argv[1]), seed=0)}")
