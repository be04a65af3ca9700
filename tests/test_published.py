"""Published figures: the sources' numbers, read-only, every source in the
bibliography, and every protocol prints its own."""

import re
from pathlib import Path

import pytest

from recsys_utils import protocols as P
from recsys_utils import published
from recsys_utils.sequential import LEAVE_LAST_OUT

ROOT = Path(__file__).resolve().parents[1]


def test_published_figures_are_the_sources_numbers():
    u1 = {p.model: dict(p.metrics) for p in P.U1.published}
    assert u1 == {
        "GC-MC": {"rmse": 0.910},
        "GLocal-K": {"rmse": 0.889},
        "Surprise SVD": {"rmse": 0.934, "mae": 0.737},
        "Surprise SVD++": {"rmse": 0.919, "mae": 0.721},
    }
    reco = {
        p.model: (p.metrics["ndcg@10"], p.metrics["recall@10"])
        for p in P.STRATIFIED.published
    }
    assert reco == {
        "BiVAE": (0.475, 0.219),
        "BPR": (0.442, 0.213),
        "LightGCN": (0.408, 0.191),
        "NCF": (0.396, 0.181),
        "SAR": (0.382, 0.176),
    }
    assert P.TEMPORAL.published == ()
    assert set(P.PROTOCOLS) == {"u1", "stratified", "temporal"}
    for p in P.PROTOCOLS.values():
        for pub in p.published:
            assert set(pub.metrics) <= set(p.metrics), pub.model
            assert pub.note
    with pytest.raises(TypeError):
        P.U1.published[0].metrics["rmse"] = 0.5  # published figures are read-only


def test_every_source_is_in_the_bibliography():
    bib = (ROOT / "book" / "references.bib").read_text(encoding="utf-8")
    keys = set(re.findall(r"@\w+\{([^,]+),", bib))
    sources = {pub.source for p in P.PROTOCOLS.values() for pub in p.published}
    assert sources <= keys
    assert sources <= set(published.CITATIONS)


def test_each_protocol_prints_the_figures_published_under_its_name():
    protocols = {**P.PROTOCOLS, LEAVE_LAST_OUT.name: LEAVE_LAST_OUT}
    assert set(published.FIGURES) == set(protocols)
    for name, protocol in protocols.items():
        assert protocol.published == published.FIGURES[name], name
    sasrec = published.FIGURES["leave-last-out"][0]
    assert (sasrec.model, dict(sasrec.metrics)) == (
        "SASRec",
        {"sampled HR@10": 0.8245, "sampled NDCG@10": 0.5905},
    )


def test_who_labels_a_row_by_its_citation():
    row = published.Published("X", {"rmse": 1.0}, "berg2017gcmc")
    assert row.who == "published: Berg et al. 2017"
    assert published.Published("X", {}, "unknown2030").who == "published: unknown2030"
    with pytest.raises(TypeError):
        published.FIGURES["u1"] = ()  # the table is read-only
