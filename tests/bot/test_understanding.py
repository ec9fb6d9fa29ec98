"""The pipeline's Understanding of a message, on the demo knowledge base and the real models."""

from __future__ import annotations

from pathlib import Path

from bot.understanding import understand
from nlu.encoders import get_encoder


def test_a_message_is_embedded_once_for_the_classifier_and_the_search(
        demo_index: Path, monkeypatch) -> None:
    encoder = get_encoder()
    encoded: list[list[str]] = []
    encode = encoder.encode

    def counting(texts, *args, **kwargs):
        encoded.append(list(texts))
        return encode(texts, *args, **kwargs)

    monkeypatch.setattr(encoder, "encode", counting)
    understanding = understand("how long does shipping to canada take", [])
    assert understanding.intent == "ask_shipping"
    assert understanding.best_hit is not None
    assert understanding.best_hit.slug == "shipping-to-canada"
    assert encoded == [["how long does shipping to canada take"]]
