"""The knowledge base's question classifier: it fixes a confusion the fused ranking makes,
it is ignored as soon as the index changes under it, a burst of publishes retrains it
once, and it is written atomically."""

from __future__ import annotations

import os

import pytest

from core.database import session_scope
from core.settings import get_settings
from knowledge_base import evaluation, question_classifier, retrieval, service, tasks
from knowledge_base.models import Article, ArticleStatus
from tests.factories import make_article

# Two articles the fused ranking confuses: "my card has come" is closest to the arrival
# article's "my new card still hasn't come", though what is asked is how to use it.
KB = {
    "When will my card arrive?": [
        "my new card still hasn't come", "how long does the card take to be delivered",
        "I ordered a card two weeks ago and nothing", "is my card in the post yet",
        "card not received", "where is the card you sent me"],
    "How do I activate my card?": [
        "how do I start using my new card", "the card came, what now",
        "where do I turn on my card", "activate card in the app",
        "my card arrived but it does not work yet", "the new card is declined everywhere"],
    "Why is my transfer still pending?": [
        "the transfer shows as pending", "how long will my transfer be pending",
        "my payment to a friend is stuck in processing", "transfer not completed yet"],
    "The recipient has not received my transfer": [
        "my friend says the money never arrived", "I sent money but they didn't get it",
        "the transfer is done but the account shows nothing",
        "beneficiary did not receive the funds"],
}
ARRIVAL, ACTIVATION = "when-will-my-card-arrive", "how-do-i-activate-my-card"
CONFUSED = ["my card has come but I can't use it", "card has come, can't use it",
            "it has come but it is not working"]
CLEAR = ["the card I ordered has not come", "still no card in the mail",
         "my card should have come by now"]
EXPECTED = {**dict.fromkeys(CONFUSED, ACTIVATION), **dict.fromkeys(CLEAR, ARRIVAL)}


@pytest.fixture
def scheduled(monkeypatch):
    """Retrains the index saves schedule, captured instead of sent: this is the broker's
    delayed delivery, replayed by the test when the burst is over."""
    sent: list[tuple[list[str], float]] = []
    monkeypatch.setattr(tasks.train_classifier_task, "apply_async",
                        lambda args, countdown, **_: sent.append((args, countdown)))
    return sent


def _publish_kb() -> dict[str, int]:
    with session_scope() as s:
        ids = {a.slug: a.id for a in (make_article(s, title, questions, body="We can help.")
                                      for title, questions in KB.items())}
    for article_id in ids.values():
        tasks.sync_article_task(article_id)  # what the worker runs after each publish
    return ids


def _top(query: str) -> str:
    return retrieval.search(query, k=3)[0].slug


def _fused_only(query: str) -> list[tuple[str, float]]:
    index = retrieval.get_index_holder().get()
    assert index is not None
    return [(h.slug, h.rank_score) for h in retrieval.search_index(
        index, retrieval.lexical_for(index), query, k=3)]


def _in_use() -> bool:
    index = retrieval.get_index_holder().get()
    assert index is not None
    return retrieval.classifier_for(index, get_settings().index_dir) is not None


def test_the_classifier_fixes_what_the_fused_ranking_confuses(db_url, private_index,
                                                               scheduled):
    from training import jobs

    _publish_kb()
    assert not _in_use()
    assert [q for q in EXPECTED if _top(q) != EXPECTED[q]] == CONFUSED  # fused ranking alone

    recorded = jobs.refresh_kb_classifier()  # what the learning loop's training job records
    assert recorded["status"] == "trained"
    assert recorded["articles"] == 4 and recorded["questions"] == 24
    assert 0.5 < recorded["cv_accuracy"] <= 1 and recorded["c"] in question_classifier.C_GRID
    assert _in_use()
    assert {q: _top(q) for q in EXPECTED} == EXPECTED
    assert jobs.refresh_kb_classifier()["status"] == "current"  # nothing changed: no retrain


def test_a_stale_classifier_is_never_used(db_url, private_index, scheduled):
    ids = _publish_kb()
    assert question_classifier.train_current().status == "trained"
    assert _in_use()

    with session_scope() as s:  # an edit: the classifier no longer knows this article
        article = s.get(Article, ids[ACTIVATION])
        assert article is not None
        service.update_article(s, article.id, service.ArticleInput(
            title=article.title, body=article.body, category=article.category,
            alternative_questions=["how do I switch on my card"]), article.version, None)
    tasks.sync_article_task(ids[ACTIVATION])
    assert not _in_use()
    query = CONFUSED[0]
    assert [(h.slug, h.rank_score) for h in retrieval.search(query, k=3)] == _fused_only(query)

    with session_scope() as s:  # gone: archived
        service.change_status(s, ids[ACTIVATION], ArticleStatus.ARCHIVED,
                              s.get(Article, ids[ACTIVATION]).version, None)
    tasks.sync_article_task(ids[ACTIVATION])
    assert not _in_use()
    assert ACTIVATION not in {h.slug for q in EXPECTED for h in retrieval.search(q, k=3)}


def test_a_burst_of_publishes_trains_once(db_url, private_index, scheduled):
    burst = 8
    with session_scope() as s:
        drafts = [make_article(s, f"Topic number {n}", [f"question about topic {n}"],
                               body=f"Answer {n}.", status=ArticleStatus.IN_REVIEW).id
                  for n in range(burst)]
    for article_id in drafts:  # one publish after another, each synced by the worker
        with session_scope() as s:
            service.change_status(s, article_id, ArticleStatus.PUBLISHED, 1, None)
        tasks.sync_article_task(article_id)
    assert len(scheduled) == burst
    assert {countdown for _, countdown in scheduled} == {
        get_settings().kb_classifier_debounce_seconds}

    outcomes = [tasks.train_classifier_task(*args) for args, _ in scheduled]  # delivered late
    assert outcomes == ["superseded"] * (burst - 1) + ["trained"]
    assert _in_use()
    assert tasks.train_classifier_task(*scheduled[-1][0]) == "current"  # a redelivery

    # The periodic reconcile schedules a retrain only when the stored one does not fit.
    scheduled.clear()
    tasks.reconcile_index_task()
    assert scheduled == []
    (private_index / question_classifier.ARTIFACT_FILE).unlink()
    tasks.reconcile_index_task()
    assert len(scheduled) == 1


def test_the_artifact_is_replaced_atomically(tmp_path, monkeypatch):
    articles = [Article(id=n + 1, slug=f"a{n}", title=title, body="", category="c",
                        locale="en", alternative_questions=questions,
                        status=ArticleStatus.PUBLISHED)
                for n, (title, questions) in enumerate(KB.items())]
    index, _, _ = evaluation.build(articles)
    first = question_classifier.train(index)
    path = first.save(tmp_path)
    holder = question_classifier.ClassifierHolder(tmp_path)
    assert holder.get() is not None and holder.get().fits(index)

    index.remove_article(2)  # new content, so a new classifier ...
    second = question_classifier.train(index)

    def crash(*_: object) -> None:  # ... whose write dies before its rename
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        second.save(tmp_path)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no half file left
    kept = question_classifier.QuestionClassifier.load(path)
    assert kept.manifest == first.manifest and not kept.fits(index)

    second.save(tmp_path)
    loaded = holder.get()
    assert loaded is not None and loaded.manifest == second.manifest and loaded.fits(index)
    assert 2 not in loaded.article_ids.tolist()
