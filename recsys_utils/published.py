"""Published figures on MovieLens-100K, exactly as their sources print them.

Each figure is a :class:`Published` row: the model, its numbers under the protocol's
metric names, the source (a bib key of ``book/references.bib``) and the fine print a
reader needs to compare. :data:`FIGURES` holds them by protocol name; the protocols of
:mod:`recsys_utils.protocols` (and :data:`recsys_utils.sequential.LEAVE_LAST_OUT`)
print them under our rows in ``Protocol.report``.

* ``"u1"`` (RMSE): GC-MC 0.910 (``berg2017gcmc``, u1 split, no side features);
  GLocal-K 0.889 (``han2021glocalk``; its hyperparameters and stopping epoch were
  selected on the test set); Surprise's SVD 0.934 and SVD++ 0.919, MAE 0.737 and
  0.721 (``hug2022surprise``, Surprise's README: the mean over a 5-fold
  cross-validation of the whole data set with default parameters, *not* the u1
  split).
* ``"stratified"``, the Recommenders benchmark (nDCG@10 / recall@10 / precision@10 /
  MAP): BiVAE 0.475 / 0.219 / 0.412 / 0.146 and BPR 0.442 / 0.213 / 0.388 / 0.132
  (benchmark notebook run of April 2021, README table ``recommenders2021readme``);
  LightGCN 0.408 / 0.191 / 0.353 / 0.117 (the same run,
  ``recommenders2021benchmark``: the README's LightGCN row, 0.420 / 0.144, is the
  *MovieLens-1M* row of an earlier run of that notebook, commit 14225ce, and is not
  used); NCF 0.396 / 0.181 / 0.347 / 0.108 (benchmark notebook run of April 2019,
  README); SAR 0.382 / 0.176 / 0.331 / 0.111 (README; from the SAR quick-start
  notebook, whose split is stratified per *user*, ``filter_by="user"``, same ratio
  and seed: a slightly different test set).
* ``"temporal"``: none; nobody publishes on the book's temporal split.
* ``"leave-last-out"``: SASRec's sampled HR@10 0.8245 and NDCG@10 0.5905
  (``kang2018self``, Table 3): MovieLens-*1M*, 100 sampled negatives; not
  comparable with a full ranking on MovieLens-100K, printed for what it is.

The book's own figures on MovieLens are computed by a reader who has the data: the
archive may not be redistributed, so no figure of ours is printed here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["Published", "CITATIONS", "FIGURES"]

#: bib key -> how a published row is labelled in ``Protocol.report``.
CITATIONS = {
    "berg2017gcmc": "Berg et al. 2017",
    "han2021glocalk": "Han et al. 2021",
    "hug2022surprise": "Surprise README",
    "recommenders2021readme": "Recommenders README",
    "recommenders2021benchmark": "Recommenders benchmark",
    "kang2018self": "Kang and McAuley 2018",
}


@dataclass(frozen=True)
class Published:
    """A figure somebody published under a protocol.

    Attributes:
        model: the model's name as the source prints it (``"GC-MC"``).
        metrics: ``{metric: value}`` with the protocol's metric names
            (``{"rmse": 0.910}``), rounded as the source rounds them.
        source: the bib key in ``book/references.bib``.
        note: what a reader must know to compare (the exact split, a caveat).
    """

    model: str
    metrics: Mapping[str, float]
    source: str
    note: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "metrics", MappingProxyType(dict(self.metrics)))

    @property
    def who(self) -> str:
        """The label of the row in a report: ``"published: <Author Year>"``."""
        return f"published: {CITATIONS.get(self.source, self.source)}"


def _top10(model: str, values: tuple, source: str, note: str) -> Published:
    """A published row of the benchmark: nDCG@10, recall@10, precision@10, MAP."""
    names = ("ndcg@10", "recall@10", "precision@10", "map@10")
    return Published(model, dict(zip(names, values)), source, note)


#: protocol name -> the figures published under it (see the module docstring).
FIGURES: Mapping[str, tuple[Published, ...]] = MappingProxyType(
    {
        "u1": (
            Published(
                "GC-MC",
                {"rmse": 0.910},
                "berg2017gcmc",
                "u1 split, no side features",
            ),
            Published(
                "GLocal-K",
                {"rmse": 0.889},
                "han2021glocalk",
                "u1 split; tuned on the test set",
            ),
            Published(
                "Surprise SVD",
                {"rmse": 0.934, "mae": 0.737},
                "hug2022surprise",
                "5-fold cross-validation, not u1",
            ),
            Published(
                "Surprise SVD++",
                {"rmse": 0.919, "mae": 0.721},
                "hug2022surprise",
                "5-fold cross-validation, not u1",
            ),
        ),
        "stratified": (
            _top10(
                "BiVAE",
                (0.475, 0.219, 0.412, 0.146),
                "recommenders2021readme",
                "benchmark run, Apr 2021; split per movie",
            ),
            _top10(
                "BPR",
                (0.442, 0.213, 0.388, 0.132),
                "recommenders2021readme",
                "benchmark run, Apr 2021; split per movie",
            ),
            _top10(
                "LightGCN",
                (0.408, 0.191, 0.353, 0.117),
                "recommenders2021benchmark",
                "benchmark run, Apr 2021; the README's 0.420 / 0.144 is ML-1M",
            ),
            _top10(
                "NCF",
                (0.396, 0.181, 0.347, 0.108),
                "recommenders2021readme",
                "benchmark run, Apr 2019; split per movie",
            ),
            _top10(
                "SAR",
                (0.382, 0.176, 0.331, 0.111),
                "recommenders2021readme",
                "SAR quick start, 2020; split per user, not per movie",
            ),
        ),
        "temporal": (),
        "leave-last-out": (
            Published(
                "SASRec",
                {"sampled HR@10": 0.8245, "sampled NDCG@10": 0.5905},
                "kang2018self",
                "MovieLens-1M (not 100K), 100 sampled negatives, Table 3",
            ),
        ),
    }
)
