import pytest

from conversations import service as conversations
from conversations.models import Message
from core.errors import NotFound, PermissionDenied, ValidationFailed
from tests.factories import make_conversation


def test_token_only_opens_its_own_conversation(session):
    first, first_token = make_conversation(session)
    second, _ = make_conversation(session)
    assert conversations.authorize_customer(session, first.id, first_token) is first
    with pytest.raises(PermissionDenied) as info:
        conversations.authorize_customer(session, second.id, first_token)
    assert info.value.field == "token"
    with pytest.raises(NotFound):
        conversations.authorize_customer(session, "no-such-id", first_token)


@pytest.mark.parametrize("text", ["", "   \n ", "x" * 4001])
def test_bad_text_is_refused_and_nothing_is_stored(session, text):
    conversation, _ = make_conversation(session)
    with pytest.raises(ValidationFailed) as info:
        conversations.add_customer_message(session, conversation, text, None)
    assert info.value.field == "text"
    assert session.query(Message).count() == 0


def test_retried_send_is_stored_once(session):
    conversation, _ = make_conversation(session)
    first, created = conversations.add_customer_message(session, conversation, "hi", "c-1")
    again, created_again = conversations.add_customer_message(session, conversation, "hi", "c-1")
    assert created and not created_again and first.id == again.id
    assert session.query(Message).count() == 1


def test_customer_message_reopens_a_resolved_conversation_to_the_bot(session):
    conversation, _ = make_conversation(session)
    conversation.status = "resolved"
    conversations.add_customer_message(session, conversation, "one more thing", None)
    assert conversation.status == "bot"
