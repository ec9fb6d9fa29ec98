"""Train → persist → load round trip of the vector index, and retrieval on the demo KB."""

import numpy as np
import pytest

from knowledge_base.index import FORMAT_VERSION, IndexEntry, IndexHolder, Manifest, VectorIndex


def _entry(i: int) -> IndexEntry:
    return IndexEntry(article_id=i, slug=f"a{i}", title=f"A{i}", category="c", locale="en",
                      kind="title", text=f"text {i}", display=f"display {i}")


def _unit(rows: int, dim: int = 8) -> np.ndarray:
    rng = np.random.default_rng(7)
    v = rng.normal(size=(rows, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _manifest(count: int) -> Manifest:
    return Manifest(FORMAT_VERSION, "test", 8, count, "fp", "now")


def test_round_trip_gives_identical_results(tmp_path):
    vectors = _unit(20)
    index = VectorIndex.build(vectors, [_entry(i) for i in range(20)], _manifest(20))
    index.save(tmp_path)
    loaded = VectorIndex.load(tmp_path)
    query = vectors[5]
    assert [e.article_id for e, _ in loaded.search(query, 3)] == \
           [e.article_id for e, _ in index.search(query, 3)]
    assert loaded.search(query, 1)[0][0].article_id == 5
    assert loaded.manifest == index.manifest


def test_wrong_format_version_is_refused(tmp_path):
    VectorIndex.build(_unit(2), [_entry(0), _entry(1)],
                      Manifest(FORMAT_VERSION + 1, "t", 8, 2, "fp", "now")).save(tmp_path)
    with pytest.raises(ValueError, match="reindex"):
        VectorIndex.load(tmp_path)


def test_holder_picks_up_a_new_build(tmp_path):
    holder = IndexHolder(tmp_path)
    assert holder.get() is None
    VectorIndex.build(_unit(2), [_entry(0), _entry(1)], _manifest(2)).save(tmp_path)
    assert holder.get().manifest.count == 2
    import os
    import time

    time.sleep(0.01)
    VectorIndex.build(_unit(3), [_entry(i) for i in range(3)], _manifest(3)).save(tmp_path)
    os.utime(tmp_path / "manifest.json", ns=(time.time_ns(), time.time_ns() + 10**6))
    assert holder.get().manifest.count == 3


PARAPHRASES = [
    ("how long does shipping to Canada take?", "shipping-to-canada"),
    ("how many days for a parcel to reach Toronto", "shipping-to-canada"),
    ("can I pay with paypal", "accepted-payment-methods"),
    ("I forgot my password and can't log in", "reset-password"),
    ("how do I follow my delivery online", "track-my-package"),
    ("my card keeps getting rejected", "payment-declined"),
    ("how do I send something back", "start-a-return"),
    ("when will I get my money back", "refund-timing"),
    ("is there a warranty on the blender", "product-warranty"),
    ("can I cancel the order I just placed", "change-or-cancel-order"),
]


@pytest.mark.parametrize(("query", "slug"), PARAPHRASES)
def test_demo_kb_ranks_the_right_article_first(demo_index, query, slug):
    from knowledge_base import retrieval

    hits = retrieval.search(query, k=3)
    assert hits[0].slug == slug, [(h.slug, round(h.score, 3)) for h in hits]
