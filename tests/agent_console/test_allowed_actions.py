"""A ticket's `allowed_actions` (computed by handoff.visibility for the caller) say exactly
what the server then accepts from that caller: the console reads them instead of repeating
the rules."""


from tests.api_helpers import login, start_conversation
from tests.factories import PASSWORD

AGENT = "/api/v1/agent"


def _waiting_ticket_id(client, headers):
    """Rasa is down in these tests, so the first message hands the conversation off."""
    cid, customer = start_conversation(client, channel="widget")
    client.post(f"/api/v1/conversations/{cid}/messages", headers=customer,
                json={"text": "I need a person"})
    return next(t["id"] for t in client.get(f"{AGENT}/queue", headers=headers).json()
                if t["conversation_id"] == cid)


def _allowed(client, headers, ticket_id):
    detail = client.get(f"{AGENT}/tickets/{ticket_id}", headers=headers).json()
    return set(detail["ticket"]["allowed_actions"])


def _reply(client, headers, ticket_id):
    return client.post(f"{AGENT}/tickets/{ticket_id}/messages", headers=headers,
                       json={"text": "Hello"}).status_code


def test_a_waiting_ticket_may_be_claimed_or_answered_by_any_agent(client):
    alex = login(client, "alex@example.test", PASSWORD)
    sam = login(client, "sam@example.test", PASSWORD)
    ticket_id = _waiting_ticket_id(client, alex)

    assert _allowed(client, alex, ticket_id) == {"note", "reply", "claim", "solve", "merge"}
    # Only who may assign tickets gets "assign".
    assert _allowed(client, sam, ticket_id) == {"note", "reply", "claim", "assign", "solve",
                                                "merge"}
    queue_row = next(t for t in client.get(f"{AGENT}/queue", headers=alex).json()
                     if t["id"] == ticket_id)
    assert set(queue_row["allowed_actions"]) == _allowed(client, alex, ticket_id)
    assert client.post(f"{AGENT}/tickets/{ticket_id}/assign", headers=alex,
                       json={"assignee_id": None, "team_id": None}).status_code == 403
    assert client.post(f"{AGENT}/tickets/{ticket_id}/claim", headers=alex).status_code == 200


def test_someone_elses_ticket_takes_notes_only_unless_one_may_assign(client):
    alex = login(client, "alex@example.test", PASSWORD)
    bea = login(client, "bea@example.test", PASSWORD)
    sam = login(client, "sam@example.test", PASSWORD)
    ticket_id = _waiting_ticket_id(client, alex)
    client.post(f"{AGENT}/tickets/{ticket_id}/claim", headers=alex)

    assert _allowed(client, bea, ticket_id) == {"note"}
    assert _reply(client, bea, ticket_id) == 403
    assert client.post(f"{AGENT}/tickets/{ticket_id}/claim", headers=bea).status_code == 409
    assert client.post(f"{AGENT}/tickets/{ticket_id}/solve", headers=bea).status_code == 403
    assert client.post(f"{AGENT}/tickets/{ticket_id}/notes", headers=bea,
                       json={"text": "I know this customer"}).status_code == 201
    other_id = _waiting_ticket_id(client, bea)
    assert client.post(f"{AGENT}/tickets/{ticket_id}/merge", headers=bea,
                       json={"into_ticket_id": other_id}).status_code == 403

    assert _allowed(client, alex, ticket_id) == {"note", "reply", "solve", "merge"}
    assert _reply(client, alex, ticket_id) == 201
    assert "reply" in _allowed(client, sam, ticket_id)
    assert _reply(client, sam, ticket_id) == 201


def test_solved_tickets_reopen_or_close_and_closed_ones_take_notes_only(client):
    alex = login(client, "alex@example.test", PASSWORD)
    bea = login(client, "bea@example.test", PASSWORD)
    ticket_id = _waiting_ticket_id(client, alex)
    client.post(f"{AGENT}/tickets/{ticket_id}/claim", headers=alex)
    assert client.post(f"{AGENT}/tickets/{ticket_id}/solve", headers=alex).status_code == 200

    assert _allowed(client, alex, ticket_id) == {"note", "reply", "close", "reopen", "merge"}
    assert client.post(f"{AGENT}/tickets/{ticket_id}/solve", headers=alex).status_code == 409
    assert _allowed(client, bea, ticket_id) == {"note"}
    assert client.patch(f"{AGENT}/tickets/{ticket_id}", headers=bea,
                        json={"status": "closed"}).status_code == 403
    sam = login(client, "sam@example.test", PASSWORD)
    assert "assign" not in _allowed(client, sam, ticket_id)
    assert client.post(f"{AGENT}/tickets/{ticket_id}/assign", headers=sam,
                       json={"assignee_id": None, "team_id": None}).status_code == 409

    closed = client.patch(f"{AGENT}/tickets/{ticket_id}", headers=alex,
                          json={"status": "closed"})
    assert closed.status_code == 200
    assert closed.json()["allowed_actions"] == ["note"]
    assert _reply(client, alex, ticket_id) == 409
    assert client.patch(f"{AGENT}/tickets/{ticket_id}", headers=alex,
                        json={"status": "open"}).status_code == 409


def test_reopening_a_solved_ticket_is_allowed_and_accepted(client):
    alex = login(client, "alex@example.test", PASSWORD)
    ticket_id = _waiting_ticket_id(client, alex)
    client.post(f"{AGENT}/tickets/{ticket_id}/claim", headers=alex)
    client.post(f"{AGENT}/tickets/{ticket_id}/solve", headers=alex)
    assert "reopen" in _allowed(client, alex, ticket_id)
    reopened = client.patch(f"{AGENT}/tickets/{ticket_id}", headers=alex, json={"status": "open"})
    assert reopened.status_code == 200
    assert set(reopened.json()["allowed_actions"]) == {"note", "reply", "solve", "merge"}
