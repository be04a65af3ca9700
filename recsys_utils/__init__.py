"""Helper package of the course: data plumbing, metrics, evaluation, splits, checks.

``import recsys_utils`` imports no deep-learning framework; the framework twins are
``recsys_utils.torch`` and ``recsys_utils.tf``.
"""

from . import (
    artifacts,
    baselines,
    checks,
    evaluation,
    exercises,
    marketplace,
    metrics,
    mf,
    movielens,
    paths,
    splits,
    validation,
)  # noqa: E402
from ._seed import seed_everything
from .batching import History, minibatch_indices
from .checks import CheckResult, Hint, check_function, check_value
from .claims import assert_claim, assert_parity
from .evaluation import (
    EvalResult,
    evaluate_topk,
    rating_metrics,
    to_csr,
    topk_from_scores,
)
from .framework import FRAMEWORKS, framework, framework_name
from .marketplace import Marketplace, make_marketplace
from .metrics import (
    average_recommendation_popularity,
    catalog_coverage,
    exposure_gini,
    gini_index,
    head_tail_split,
    hit_rate_at_k,
    long_tail_share,
    mae,
    mrr,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
    rmse,
)
from .movielens import load_movielens_100k, movielens_available
from .notebook import plain_numpy_scalars
from .splits import Split, leave_last_out, random_split, temporal_split

plain_numpy_scalars()  # in a notebook: glued and displayed NumPy scalars read 0.25

__all__ = [
    "seed_everything",
    "FRAMEWORKS",
    "framework",
    "framework_name",
    "History",
    "minibatch_indices",
    "CheckResult",
    "Hint",
    "assert_claim",
    "assert_parity",
    "check_function",
    "check_value",
    "EvalResult",
    "evaluate_topk",
    "rating_metrics",
    "to_csr",
    "topk_from_scores",
    "average_recommendation_popularity",
    "catalog_coverage",
    "exposure_gini",
    "gini_index",
    "head_tail_split",
    "hit_rate_at_k",
    "long_tail_share",
    "mae",
    "mrr",
    "ndcg_at_k",
    "precision_at_k",
    "recall_at_k",
    "rmse",
    "Split",
    "leave_last_out",
    "random_split",
    "temporal_split",
    "Marketplace",
    "make_marketplace",
    "load_movielens_100k",
    "movielens_available",
    "artifacts",
    "baselines",
    "checks",
    "marketplace",
    "movielens",
    "paths",
    "evaluation",
    "exercises",
    "metrics",
    "mf",
    "splits",
    "validation",
]
