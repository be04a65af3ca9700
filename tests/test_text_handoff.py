"""recsys_utils.text's NumPy hand-offs (chapter 5): token_states and
reference_embeddings, checked against each other, against encode_texts and by hand."""

import numpy as np
import pytest
import torch  # noqa: F401  (the text extra; a missing one fails loudly)

from recsys_utils import text  # noqa: E402

TEXTS = ["Crimson trail runners", "A scarlet running shoe for long weekends", "Mug"]


def test_token_states_shapes_and_mask():
    tokenizer, _ = text.load_text_encoder()
    hidden, mask = text.token_states(TEXTS)  # the process-wide copy of the encoder
    assert isinstance(hidden, np.ndarray) and hidden.dtype == np.float32
    assert isinstance(mask, np.ndarray) and mask.dtype == np.int64
    assert hidden.shape[:2] == mask.shape and hidden.shape == (3, mask.shape[1], 384)
    # the mask counts each text's tokens ([CLS] and [SEP] included), padding is 0
    lengths = [len(tokenizer(t)["input_ids"]) for t in TEXTS]
    np.testing.assert_array_equal(mask.sum(1), lengths)
    assert mask.shape[1] == max(lengths)
    for row, n in zip(mask, lengths):
        assert row[:n].all() and not row[n:].any()


def test_masked_mean_of_token_states_is_encode_texts():
    hidden, mask = text.token_states(TEXTS)
    m = mask[:, :, None].astype(np.float64)
    pooled = (hidden * m).sum(1) / m.sum(1)  # NumPy masked mean, by hand
    pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
    np.testing.assert_allclose(pooled, text.encode_texts(TEXTS), atol=1e-5)


def test_padding_does_not_change_a_text_s_tokens():
    alone, _ = text.token_states(TEXTS[:1])
    batch, mask = text.token_states(TEXTS)
    n = int(mask[0].sum())
    np.testing.assert_allclose(batch[0, :n], alone[0, :n], atol=1e-4)


def test_reference_embeddings_match_encode_texts():
    ref = text.reference_embeddings(TEXTS)
    assert ref.shape == (3, 384) and ref.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ref, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(ref, text.encode_texts(TEXTS), atol=1e-5)


@pytest.mark.parametrize("bad", ["one string", [], ["ok", 3]])
def test_bad_texts_raise(bad):
    with pytest.raises(ValueError, match="texts"):
        text.token_states(bad)
    with pytest.raises(ValueError, match="texts"):
        text.reference_embeddings(bad)


def test_reference_embeddings_bad_model_name():
    with pytest.raises(ValueError, match="model_name"):
        text.reference_embeddings(["a"], model_name="")
