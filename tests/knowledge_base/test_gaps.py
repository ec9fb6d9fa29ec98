"""Gap clustering: paraphrases of one missing topic group together, biggest first."""

from core.database import session_scope
from knowledge_base import gaps
from knowledge_base.models import GapReason


def test_gap_queries_cluster_by_meaning_ranked_by_volume(db_url):
    queries = [
        ("do you offer gift wrapping?", GapReason.HANDED_OFF),
        ("can you wrap my present for me", GapReason.BELOW_THRESHOLD),
        ("is gift wrap available at checkout", GapReason.NOT_HELPFUL),
        ("wrap it as a gift please", GapReason.HANDED_OFF),
        ("what time does your Berlin store open", GapReason.HANDED_OFF),
        ("opening hours of the Berlin shop", GapReason.BELOW_THRESHOLD),
        ("my cat ate the receipt", GapReason.HANDED_OFF),
    ]
    with session_scope() as s:
        for text, reason in queries:
            gaps.log_gap(s, text, reason)
        assert gaps.log_gap(s, "   ", GapReason.HANDED_OFF) is None
    with session_scope() as s:
        found = gaps.clusters(s, days=30)
    assert [c.size for c in found] == [4, 2, 1]
    assert all("wrap" in q for q in found[0].queries)
    assert all("Berlin" in q for q in found[1].queries)
    assert found[0].reasons == {"handed_off": 2, "below_threshold": 1, "not_helpful": 1}
    with session_scope() as s:
        article = gaps.start_article(s, found[0].gap_ids, None)
        assert sorted(article.alternative_questions) == sorted(found[0].queries)
        assert article.status == "draft"


def test_bot_clarify_and_knowledge_handoffs_are_logged_but_requests_for_a_person_are_not(
        db_url):
    from sqlalchemy import select

    from conversations import service as conversations
    from knowledge_base.models import KnowledgeGap
    from tests.factories import make_conversation

    with session_scope() as s:
        conversation, _ = make_conversation(s)
        conversations.add_customer_message(s, conversation, "do you sell replacement lids?",
                                           None)
        assert gaps.log_bot_turn(s, conversation.id, {"kind": "answer"}) is None
        assert gaps.log_bot_turn(s, conversation.id, {"kind": "handoff",
                                                      "reason": "customer_request"}) is None
        gaps.log_bot_turn(s, conversation.id, {"kind": "clarify", "kb_score": 0.43})
        gaps.log_bot_turn(s, conversation.id, {"kind": "handoff", "reason": "low_kb_score"})
        cid = conversation.id
    with session_scope() as s:
        logged = list(s.scalars(select(KnowledgeGap).order_by(KnowledgeGap.id)))
        assert [(g.query, g.reason, g.score, g.conversation_id) for g in logged] == [
            ("do you sell replacement lids?", "below_threshold", 0.43, cid),
            ("do you sell replacement lids?", "handed_off", None, cid)]
