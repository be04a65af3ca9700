"""Small shared fixtures of the unit tests."""

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def interactions() -> pd.DataFrame:
    """30 interactions of 4 users with 1, 2, 3 and 24 rows, timestamps with ties;
    no (user, item) pair repeats (the splits refuse repeats by default)."""
    rng = np.random.default_rng(0)
    users = np.repeat([0, 1, 2, 3], [1, 2, 3, 24])
    return pd.DataFrame(
        {
            "user_id": users,
            "item_id": rng.permutation(50)[: len(users)],
            "timestamp": rng.integers(0, 10, len(users)),  # many ties on purpose
            "rating": rng.integers(1, 6, len(users)).astype(float),
        }
    ).sample(frac=1.0, random_state=1)  # rows not grouped by user


@pytest.fixture
def random_scores():
    """A (20 users, 30 items) score matrix with train/test csr matrices."""
    import scipy.sparse as sp

    rng = np.random.default_rng(42)
    scores = rng.normal(size=(20, 30))
    train = sp.csr_matrix((rng.random((20, 30)) < 0.2).astype(np.float32))
    test = sp.csr_matrix(
        ((rng.random((20, 30)) < 0.15) & (train.toarray() == 0)).astype(np.float32)
    )
    return scores, train, test


@pytest.fixture(scope="session")
def movielens_standin(tmp_path_factory):
    """A folder holding a MovieLens-100K stand-in archive (the real one may not be
    redistributed), for RECSYS_DATA_HOME: MovieLens' format and structure, generated
    (tests/movielens_standin.py)."""
    from movielens_standin import write_movielens_standin

    home = tmp_path_factory.mktemp("movielens")
    write_movielens_standin(home, seed=0)
    return home
