"""Train → persist → load round trip of the vector index, and retrieval on the demo KB."""

import numpy as np
import pytest

from knowledge_base.index import FORMAT_VERSION, IndexEntry, IndexHolder, Manifest, VectorIndex


def _entry(i: int, article_id: int | None = None) -> IndexEntry:
    article = i if article_id is None else article_id
    return IndexEntry(article_id=article, slug=f"a{article}", title=f"A{article}",
                      category="c", locale="en", kind="title", text=f"text {i}",
                      display=f"display {i}", id=i)


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


def test_articles_are_removed_and_added_by_id_and_survive_a_round_trip(tmp_path):
    vectors = _unit(30)
    entries = [_entry(i, article_id=i // 10) for i in range(30)]  # 3 articles x 10 chunks
    index = VectorIndex.build(vectors[:20], entries[:20], _manifest(20))
    assert index.remove_article(0) == 10
    assert index.search(vectors[3], 1)[0][0].article_id == 1  # article 0 is gone
    index.add(vectors[20:], entries[20:])
    with pytest.raises(ValueError, match="already present"):
        index.add(vectors[20:21], entries[20:21])
    index.save(tmp_path)
    loaded = VectorIndex.load(tmp_path)
    assert loaded.article_ids() == {1, 2} and loaded.manifest.count == 20
    assert loaded.search(vectors[25], 1)[0][0].id == 25


def test_large_indexes_are_approximate_and_still_removable(tmp_path):
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(3000, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    entries = [_entry(i, article_id=i // 3) for i in range(3000)]
    index = VectorIndex.build(vectors, entries, _manifest(3000), approximate_above=2000,
                              nprobe=64)
    assert index.manifest.kind == "ivf-sq8"
    index.save(tmp_path)
    loaded = VectorIndex.load(tmp_path)
    assert loaded.search(vectors[1234], 1)[0][0].id == 1234
    assert loaded.remove_article(1234 // 3) == 3
    assert all(e.article_id != 1234 // 3 for e, _ in loaded.search(vectors[1234], 5))


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
    # Dense search alone ranked "My package is lost" first; the article lacked this customer
    # phrasing, which an editor adds from the gaps page (content, not a retrieval trick).
    ("where is my package right now", "track-my-package"),
    ("the parcel arrived broken", "lost-or-damaged-package"),
    ("one thing from my order wasn't in the box", "missing-item-in-order"),
    ("can I split the payment into instalments", "buy-now-pay-later"),
    ("I never got the email confirming my purchase", "order-confirmation-email-missing"),
    ("how do I turn on 2FA", "two-step-login"),
    ("stop sending me marketing emails", "unsubscribe-from-newsletter"),
]


@pytest.mark.parametrize(("query", "slug"), PARAPHRASES)
def test_demo_kb_ranks_the_right_article_first(demo_index, query, slug):
    from knowledge_base import retrieval

    hits = retrieval.search(query, k=3)
    assert hits[0].slug == slug, [(h.slug, round(h.score, 3)) for h in hits]


def test_scores_keep_the_cosine_meaning_the_hand_off_thresholds_expect(demo_index):
    from core.settings import get_settings
    from knowledge_base import retrieval

    settings = get_settings()
    assert retrieval.search("how long does shipping to Canada take?")[0].score > \
        settings.kb_answer_threshold + 0.1
    weather = retrieval.search("what will the weather be in Paris tomorrow?")
    assert not weather or weather[0].score < settings.kb_clarify_threshold


def test_filters_and_explanations(demo_index):
    from knowledge_base import retrieval

    hits = retrieval.search("how do I follow my delivery online", k=5, category="payments")
    assert hits and all(h.category == "payments" for h in hits)
    assert retrieval.search("how do I follow my delivery online", locale="de") == []
    best = retrieval.search("can I pay with paypal", k=1)[0]
    assert best.matched_on in {"title", "question", "passage"}
    assert best.why.startswith(f"similar to its {best.matched_on}")
