"""The MovieLens-100K stand-in: the official format, statistics close to MovieLens'
(the targets are MovieLens-100K's published counts and shares), a structure models can
learn the way they learn the real data, determinism, and care for existing files."""

import io
import zipfile
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from movielens_standin import (
    GENRES,
    NUM_ITEMS,
    NUM_RATINGS,
    NUM_USERS,
    RATING_SHARES,
    T_END,
    T_START,
    main,
    standin_files,
    write_movielens_standin,
)

from recsys_utils import protocols as P
from recsys_utils.baselines import EASE, BiasesOnly, Popularity
from recsys_utils.mf import ALSMF

COLS = ["user_id", "item_id", "rating", "timestamp"]


def ratings(text: str) -> pd.DataFrame:
    df = pd.read_csv(io.StringIO(text), sep="\t", header=None, names=COLS)
    return df


@pytest.fixture(scope="module")
def files():
    return standin_files(0)


@pytest.fixture(scope="module")
def data(files):
    return ratings(files["u.data"])


@pytest.fixture(scope="module")
def items(files):
    rows = [line.split("|") for line in files["u.item"].splitlines()]
    return rows


@pytest.fixture(scope="module")
def ml(files, data):
    """The stand-in as the protocols see it (0-based ids), without the loader."""

    def zero_based(df):
        return df.assign(
            user_id=df.user_id - 1, item_id=df.item_id - 1, rating=df.rating * 1.0
        )

    u1 = (zero_based(ratings(files["u1.base"])), zero_based(ratings(files["u1.test"])))
    return SimpleNamespace(
        ratings=zero_based(data),
        splits={"u1": u1},
        num_users=NUM_USERS,
        num_items=NUM_ITEMS,
    )


# ---------------------------------------------------------------------------
# Counts and statistics
# ---------------------------------------------------------------------------


def test_counts_like_movielens(data):
    assert len(data) == NUM_RATINGS == 100_000
    assert sorted(data.user_id.unique()) == list(range(1, 944))
    assert sorted(data.item_id.unique()) == list(range(1, 1683))
    assert not data.duplicated(["user_id", "item_id"]).any()
    assert data.groupby("user_id").size().min() >= 20
    assert set(data.rating.unique()) == {1, 2, 3, 4, 5}


def test_rating_histogram_is_movielens(data):
    shares = data.rating.value_counts(normalize=True).sort_index().to_numpy()
    assert shares == pytest.approx(RATING_SHARES, abs=0.005)
    assert RATING_SHARES == pytest.approx((0.06, 0.11, 0.27, 0.34, 0.21), abs=0.006)


def gini(x):
    x = np.sort(np.asarray(x, dtype=float))
    n = len(x)
    return float(((2 * np.arange(1, n + 1) - n - 1) * x).sum() / (n * x.sum()))


def test_degree_distributions_are_heavy_tailed_like_movielens(data):
    # MovieLens-100K: users 20..737, median 65; movies 1..583, median 27,
    # 141 movies with one rating, 65 % of the ratings on the top 20 %, Gini 0.63
    users = data.groupby("user_id").size()
    assert users.min() == 20 and 55 <= users.median() <= 75
    assert 550 <= users.max() <= 800
    movies = data.groupby("item_id").size()
    assert movies.min() == 1 and 22 <= movies.median() <= 32
    assert 450 <= movies.max() <= 650
    assert 0.06 <= (movies == 1).mean() <= 0.12
    top = np.sort(movies.to_numpy())[::-1][: round(0.2 * NUM_ITEMS)]
    assert 0.60 <= top.sum() / NUM_RATINGS <= 0.70
    assert 0.58 <= gini(movies) <= 0.68


def test_popular_movies_are_rated_higher(data):
    per_movie = data.groupby("item_id").rating.agg(["mean", "size"])
    r = np.corrcoef(np.log(per_movie["size"]), per_movie["mean"])[0, 1]
    assert r > 0.2  # on MovieLens too, the well-known movies get the better ratings


def test_timestamps_and_activity_windows(data, items):
    assert T_START <= data.timestamp.min() and data.timestamp.max() <= T_END
    span_days = data.groupby("user_id").timestamp.agg(lambda t: t.max() - t.min())
    span_days = span_days / 86_400
    assert 0.3 <= (span_days < 1).mean() <= 0.7  # many users rate in one sitting
    assert (span_days > 30).mean() >= 0.1  # others come back for months
    # 1998 releases are rated only after their release date
    release = {
        int(row[0]): pd.Timestamp(row[2]).timestamp()
        for row in items
        if row[1].endswith("(1998)")
    }
    assert release
    new = data[data.item_id.isin(release)]
    assert (new.timestamp >= new.item_id.map(release)).all()


# ---------------------------------------------------------------------------
# Files in the official format
# ---------------------------------------------------------------------------


def test_item_file(items):
    assert len(items) == NUM_ITEMS
    assert all(len(row) == 24 for row in items)
    assert [int(row[0]) for row in items] == list(range(1, NUM_ITEMS + 1))
    flags = np.array([[int(f) for f in row[5:]] for row in items])
    assert flags.shape == (NUM_ITEMS, 19) and set(np.unique(flags)) == {0, 1}
    assert (flags.sum(axis=1) >= 1).all()
    share = dict(zip(GENRES, flags.mean(axis=0)))
    # MovieLens-100K: Drama 43 %, Comedy 30 %, Documentary 3 %
    assert share["Drama"] == pytest.approx(725 / 1682, abs=0.05)
    assert share["Comedy"] == pytest.approx(505 / 1682, abs=0.05)
    assert share["Documentary"] == pytest.approx(50 / 1682, abs=0.02)
    assert items[266][1:5] == ["unknown", "", "", ""]  # as in the archive
    dated = items[:266] + items[267:]
    assert len({row[1] for row in dated}) == NUM_ITEMS - 1
    for row in dated:
        year = row[1][-5:-1]
        assert row[1].endswith(")") and row[2].endswith(year), row
    years = np.array([int(row[1][-5:-1]) for row in dated])
    assert 0.6 <= (years >= 1990).mean() <= 0.85 and years.min() < 1950


def test_user_genre_occupation_info_files(files):
    users = [line.split("|") for line in files["u.user"].splitlines()]
    occupations = files["u.occupation"].split()
    assert len(occupations) == 21 and "student" in occupations
    assert len(users) == NUM_USERS and all(len(u) == 5 for u in users)
    ages = np.array([int(u[1]) for u in users])
    assert ages.min() >= 7 and ages.max() <= 73 and 30 <= ages.mean() <= 38
    male = np.mean([u[2] == "M" for u in users])
    assert {u[2] for u in users} == {"M", "F"} and 0.65 <= male <= 0.77
    assert {u[3] for u in users} <= set(occupations)
    assert all(len(u[4]) == 5 for u in users)
    genre_lines = files["u.genre"].split()
    assert genre_lines == [f"{g}|{k}" for k, g in enumerate(GENRES)]
    assert files["u.info"] == "943 users\n1682 items\n100000 ratings\n"


def test_splits_are_made_as_mku_sh_makes_them(files, data):
    lines = files["u.data"].splitlines()
    tests = []
    for k in range(1, 6):
        test, base = files[f"u{k}.test"], files[f"u{k}.base"]
        block = lines[(k - 1) * 20_000 : k * 20_000]
        assert sorted(test.splitlines()) == sorted(block)  # the k-th block
        assert sorted(base.splitlines() + test.splitlines()) == sorted(lines)
        frame = ratings(test)
        assert frame.equals(frame.sort_values(["user_id", "item_id"]))
        tests.append(set(test.splitlines()))
    assert len(set.union(*tests)) == NUM_RATINGS  # a 5-fold partition
    nth = data.groupby("user_id").cumcount() + 1
    for name, lo, hi in (("ua", 1, 10), ("ub", 11, 20)):
        test = ratings(files[f"{name}.test"])
        assert (test.groupby("user_id").size() == 10).all()
        assert len(test) == 9_430
        expected = data[(nth >= lo) & (nth <= hi)]
        assert set(map(tuple, test.to_numpy())) == set(map(tuple, expected.to_numpy()))
        base = ratings(files[f"{name}.base"])
        assert len(base) + len(test) == NUM_RATINGS
        assert base.equals(base.sort_values(["user_id", "item_id"]))
    ua = set(files["ua.test"].splitlines())
    assert not ua & set(files["ub.test"].splitlines())


def test_the_loader_reads_it(movielens_standin):
    from recsys_utils.movielens import load_movielens_100k

    ml = load_movielens_100k(movielens_standin, download=False)
    assert (len(ml.ratings), ml.num_users, ml.num_items) == (100_000, 943, 1682)
    assert len(ml.splits["u1"][1]) == 20_000
    assert ml.ratings.user_id.min() == 0  # 0-based ids


# ---------------------------------------------------------------------------
# Learnable the way MovieLens is
# ---------------------------------------------------------------------------


def test_biases_and_mf_on_u1_like_movielens(ml):
    # MovieLens-100K on u1: global mean 1.154, tuned biases 0.945 (ratio 0.82),
    # MF 0.91-0.93: biases explain much, MF adds a few percent.
    data = P.U1.split(ml)
    mean = data.train.rating.mean()
    rmse_mean = float(np.sqrt(((data.test.rating - mean) ** 2).mean()))
    biases = P.U1.evaluate(
        BiasesOnly(5.0, 5.0).fit(data.csr("train", "rating")), data, on="test"
    )["rmse"]
    mf = ALSMF(embedding_dim=16, reg=5.0, num_iters=8, seed=0)
    mf = P.U1.evaluate(mf.fit(data.csr("train", "rating")), data, on="test")["rmse"]
    assert 0.78 <= biases / rmse_mean <= 0.88
    assert mf <= 0.99 * biases  # MF beats biases-only by at least 1 %


@pytest.mark.parametrize(
    "name, metric, factor",
    [("stratified", "ndcg@10", 1.25), ("temporal", "recall@10", 1.3)],
)
def test_ease_beats_popularity_like_on_movielens(ml, name, metric, factor):
    # MovieLens-100K: the benchmark's best models reach nDCG@10 0.38-0.48; on the
    # temporal split, neighbourhood models reach recall@10 about 1.7x popularity's.
    p = P.PROTOCOLS[name]
    data = p.split(ml)
    pop = p.evaluate(Popularity().fit(data.csr("train")), data, on="test")
    ease = p.evaluate(EASE(250.0).fit(data.csr("train")), data, on="test")
    assert ease[metric] >= factor * pop[metric], (ease, pop)
    if name == "stratified":
        assert 0.35 <= ease[metric] <= 0.55


# ---------------------------------------------------------------------------
# Determinism and care for files
# ---------------------------------------------------------------------------


def test_same_seed_same_bytes_other_seed_other_data(tmp_path, files):
    a = write_movielens_standin(tmp_path / "a", seed=0).read_bytes()
    b = write_movielens_standin(tmp_path / "b", seed=0).read_bytes()
    assert a == b
    with zipfile.ZipFile(io.BytesIO(a)) as zf:
        assert zf.read("ml-100k/u.data").decode("latin-1") == files["u.data"]
        assert "ml-100k/u1.base" in zf.namelist()
    assert standin_files(1)["u.data"] != files["u.data"]
    with pytest.raises(ValueError, match="seed"):
        standin_files(-1)


def test_never_overwrites_what_it_did_not_write(tmp_path):
    foreign = tmp_path / "ml-100k.zip"
    foreign.write_bytes(b"the real archive, say")
    with pytest.raises(ValueError, match="not a stand-in"):
        write_movielens_standin(tmp_path)
    assert foreign.read_bytes() == b"the real archive, say"
    other = tmp_path / "other"
    (other / "ml-100k").mkdir(parents=True)
    (other / "ml-100k" / "u.data").write_text("1\t1\t5\t0\n")
    with pytest.raises(ValueError, match="not an extracted stand-in"):
        write_movielens_standin(other)
    assert (other / "ml-100k" / "u.data").read_text() == "1\t1\t5\t0\n"


def test_rewrites_its_own_archive_and_its_extracted_copy(tmp_path):
    from recsys_utils.movielens import load_movielens_100k

    write_movielens_standin(tmp_path, seed=0)
    first = load_movielens_100k(tmp_path, download=False).ratings
    assert (tmp_path / "ml-100k").is_dir()  # the loader's extracted copy
    write_movielens_standin(tmp_path, seed=1)
    assert not (tmp_path / "ml-100k").exists()
    second = load_movielens_100k(tmp_path, download=False).ratings
    assert not first.equals(second)


def test_command_line(tmp_path, capsys):
    assert main([str(tmp_path / "home"), "--seed", "0"]) == 0
    assert (tmp_path / "home" / "ml-100k.zip").is_file()
    assert "RECSYS_DATA_HOME" in capsys.readouterr().out
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "ml-100k.zip").write_bytes(b"not ours")
    assert main([str(tmp_path / "x")]) == 2
    assert "not a stand-in" in capsys.readouterr().err
