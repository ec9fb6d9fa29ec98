"""Publish → answerable, archive → not answerable, through the worker task's function;
the update is incremental; `kb check` sees drift."""

from core.database import session_scope
from knowledge_base import indexing, retrieval, service
from knowledge_base.index import VectorIndex
from knowledge_base.models import ArticleStatus
from knowledge_base.tasks import sync_article_task

QUERY = "do you engrave names on the cutting boards?"


def _create(slug: str, title: str, body: str, questions: list[str]) -> int:
    with session_scope() as s:
        return service.create_article(s, service.ArticleInput(
            title=title, slug=slug, body=body, category="products",
            alternative_questions=questions), None).id


def _slugs(query: str) -> list[str]:
    return [h.slug for h in retrieval.search(query, k=3)]


def test_publish_makes_answerable_and_archive_removes_incrementally(db_url, private_index):
    other = _create("cookware-care", "Caring for cookware",
                    "Hand-wash cast iron and dry it at once.", ["how do I clean my pan"])
    target = _create("engraving", "Personal engraving",
                     "We engrave names on wooden cutting boards for 5 EUR.",
                     ["can you put a name on the board", "personalised engraving"])
    with session_scope() as s:
        service.change_status(s, other, ArticleStatus.PUBLISHED, 1, None)
    assert sync_article_task(other) == "rebuilt"  # no index yet: the first one builds it
    assert "engraving" not in _slugs(QUERY)  # a draft is never answerable

    with session_scope() as s:
        service.change_status(s, target, ArticleStatus.PUBLISHED, 1, None)
    outcome = sync_article_task(target)
    assert outcome.startswith("removed 0, added ")  # incremental: only this article encoded
    hits = retrieval.search(QUERY, k=3)
    assert hits[0].slug == "engraving"
    assert hits[0].score > 0.5
    other_chunks = {i for i, e in VectorIndex.load(private_index).entries.items()
                    if e.article_id == other}
    assert other_chunks  # untouched by the second update

    with session_scope() as s:
        service.change_status(s, target, ArticleStatus.ARCHIVED, 2, None)
    assert sync_article_task(target) == "removed 4, added 0"
    assert "engraving" not in _slugs(QUERY)
    with session_scope() as s:
        assert indexing.check(s).clean


def test_editing_a_published_article_updates_its_chunks(db_url, private_index):
    article = _create("opening-hours", "Opening hours", "We are open 9 to 5.", [])
    with session_scope() as s:
        service.change_status(s, article, ArticleStatus.PUBLISHED, 1, None)
    sync_article_task(article)
    with session_scope() as s:
        service.update_article(s, article, service.ArticleInput(
            title="Opening hours", body="We are open 9 to 5.", category="products",
            alternative_questions=["when does the warehouse shop open on saturdays"]), 2, None)
    with session_scope() as s:
        drift = indexing.check(s)
    assert drift.changed == [article] and not drift.clean
    sync_article_task(article)
    hits = retrieval.search("when does the warehouse shop open on saturdays", k=1)
    assert hits[0].matched_on == "question" and hits[0].score > 0.95


def test_check_reports_drift_and_reconcile_repairs_it(db_url, private_index):
    first = _create("a-first", "Loyalty points", "Earn one point per euro.", [])
    second = _create("b-second", "Store credit", "Store credit never expires.", [])
    with session_scope() as s:
        service.change_status(s, first, ArticleStatus.PUBLISHED, 1, None)
    with session_scope() as s:
        drift = indexing.check(s)
    assert not drift.index_present and drift.missing == [first]
    with session_scope() as s:
        indexing.reconcile(s)
    with session_scope() as s:  # events "missed": published one, archived the other
        service.change_status(s, second, ArticleStatus.PUBLISHED, 1, None)
        service.change_status(s, first, ArticleStatus.ARCHIVED, 2, None)
    with session_scope() as s:
        drift = indexing.check(s)
    assert (drift.missing, drift.stale) == ([second], [first])
    with session_scope() as s:
        indexing.reconcile(s)
    with session_scope() as s:
        assert indexing.check(s).clean
    assert _slugs("does store credit expire")[0] == "b-second"


def test_an_index_in_an_old_format_answers_nothing_until_reconciled(db_url, private_index):
    import json

    article = _create("loyalty", "Loyalty points", "Earn one point per euro spent.", [])
    with session_scope() as s:
        service.change_status(s, article, ArticleStatus.PUBLISHED, 1, None)
    sync_article_task(article)
    manifest = private_index / "manifest.json"
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**data, "format_version": 1}))
    assert retrieval.search("how do loyalty points work") == []  # safe path: bot hands off
    with session_scope() as s:
        assert not indexing.check(s).index_present
        indexing.reconcile(s)
    assert retrieval.search("how do loyalty points work")[0].slug == "loyalty"


def test_a_sync_run_twice_changes_nothing(db_url, private_index):
    """A redelivered or duplicated sync task: the same chunks, once each."""
    article = _create("gift-cards", "Gift cards", "Gift cards are valid for two years.",
                      ["do gift cards expire"])
    with session_scope() as s:
        service.change_status(s, article, ArticleStatus.PUBLISHED, 1, None)
    sync_article_task(article)
    first = VectorIndex.load(private_index)
    chunks = len(first.entries)
    assert sync_article_task(article) == f"removed {chunks}, added {chunks}"
    again = VectorIndex.load(private_index)
    assert again.entries == first.entries and again.size == first.size == chunks
    with session_scope() as s:
        assert indexing.check(s).clean


def test_reconcile_repairs_a_lost_sync_that_left_the_text_unchanged(db_url, private_index):
    article = _create("returns", "Returns", "Return within 30 days.", [])
    with session_scope() as s:
        service.change_status(s, article, ArticleStatus.PUBLISHED, 1, None)
    sync_article_task(article)
    with session_scope() as s:  # the sync for this edit was lost with its worker
        service.update_article(s, article, service.ArticleInput(
            title="Returns", body="Return within 30 days.", category="orders"), 2, None)
    with session_scope() as s:
        assert indexing.check(s).changed == [article]
        indexing.reconcile(s)
    assert {e.category for e in VectorIndex.load(private_index).entries.values()} == {
        "orders"}


def test_reconcile_repairs_a_save_killed_before_its_manifest(db_url, private_index):
    import json

    article = _create("warranty", "Warranty", "Two years on every appliance.", [])
    with session_scope() as s:
        service.change_status(s, article, ArticleStatus.PUBLISHED, 1, None)
    sync_article_task(article)
    manifest = private_index / "manifest.json"
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**data, "fingerprint": "from the save before"}))
    with session_scope() as s:
        drift = indexing.check(s)
        assert not drift.manifest_current and not drift.clean
        indexing.reconcile(s)
    with session_scope() as s:
        assert indexing.check(s).clean
