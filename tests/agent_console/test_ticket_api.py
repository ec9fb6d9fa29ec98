"""The ticket API end to end over HTTP and WebSockets: notes stay internal, status rules,
canned responses, presence, the supervisor overview, configuration, the customer's queue
status."""


from tests.api_helpers import login, start_conversation
from tests.factories import PASSWORD


def _waiting_ticket(client, text="I need a person"):
    """Rasa is down in these tests, so the first message hands the conversation off."""
    cid, customer = start_conversation(client, channel="widget")
    client.post(f"/api/v1/conversations/{cid}/messages", headers=customer, json={"text": text})
    return cid, customer


def _ticket_of(client, headers, cid):
    return next(t for t in client.get("/api/v1/agent/queue", headers=headers).json()
                if t["conversation_id"] == cid)


def test_internal_notes_never_reach_the_customer(client):
    cid, customer = _waiting_ticket(client)
    alex = login(client, "alex@example.test", PASSWORD)
    ticket = _ticket_of(client, alex, cid)
    client.post(f"/api/v1/agent/tickets/{ticket['id']}/claim", headers=alex)
    agent_token = alex["Authorization"].split()[1]
    with client.websocket_connect(f"/api/v1/agent/ws?token={agent_token}") as staff, \
            client.websocket_connect(
                f"/api/v1/conversations/{cid}/ws?token={customer['X-Conversation-Token']}"
            ) as customer_ws:
        note = client.post(f"/api/v1/agent/tickets/{ticket['id']}/notes", headers=alex,
                           json={"text": "SECRET: customer is on the refund blocklist"})
        assert note.status_code == 201
        staff_event = staff.receive_json()
        reply = client.post(f"/api/v1/agent/tickets/{ticket['id']}/messages", headers=alex,
                            json={"text": "Hello from Alex"})
        assert reply.status_code == 201
        # The first thing the customer's socket receives is the public reply, not the note.
        customer_event = customer_ws.receive_json()
    assert staff_event["type"] == "note.created"
    assert staff_event["note"]["text"].startswith("SECRET")
    assert customer_event["message"]["text"] == "Hello from Alex"
    transcript = client.get(f"/api/v1/conversations/{cid}", headers=customer).json()
    assert all("SECRET" not in m["text"] for m in transcript["messages"])
    detail = client.get(f"/api/v1/agent/tickets/{ticket['id']}", headers=alex).json()
    assert [n["text"] for n in detail["notes"]] == ["SECRET: customer is on the refund blocklist"]
    assert {e["action"] for e in detail["history"]} >= {"created", "assignee"}


def test_status_changes_follow_the_rules_and_errors_name_the_field(client):
    cid, _ = _waiting_ticket(client)
    alex = login(client, "alex@example.test", PASSWORD)
    ticket = _ticket_of(client, alex, cid)
    url = f"/api/v1/agent/tickets/{ticket['id']}"
    client.post(f"{url}/claim", headers=alex)
    pending = client.patch(url, headers=alex, json={"status": "pending", "priority": "high",
                                                    "tags": ["refund"]})
    assert pending.status_code == 200
    body = pending.json()
    assert (body["status"], body["priority"], body["tags"]) == ("pending", "high", ["refund"])
    refused = client.patch(url, headers=alex, json={"status": "new"})
    assert refused.status_code == 409
    assert "pending" in refused.json()["message"] and "new" in refused.json()["message"]
    bad = client.patch(url, headers=alex, json={"priority": "asap"})
    assert bad.status_code == 422 and bad.json()["field"] == "priority"
    # Nothing stored was lost by the refused requests.
    assert client.get(url, headers=alex).json()["ticket"]["priority"] == "high"
    solved = client.post(f"{url}/solve", headers=alex)
    assert solved.status_code == 200 and solved.json()["status"] == "solved"


def test_canned_responses_render_placeholders_per_ticket(client):
    cid, _ = _waiting_ticket(client)
    alex = login(client, "alex@example.test", PASSWORD)
    ticket = _ticket_of(client, alex, cid)
    created = client.post("/api/v1/agent/canned", headers=alex, json={
        "shortcut": "thanks", "title": "Thanks",
        "body": "Hi {{customer.name}}, ticket #{{ticket.id}} is with {{agent.name}}.",
        "scope": "personal"})
    assert created.status_code == 201, created.text
    listed = client.get(f"/api/v1/agent/canned?ticket_id={ticket['id']}", headers=alex).json()
    me = client.get("/api/v1/auth/me", headers=alex).json()
    assert listed[0]["rendered"] == (f"Hi there, ticket #{ticket['id']} is with "
                                     f"{me['display_name']}.")
    unknown = client.post("/api/v1/agent/canned", headers=alex, json={
        "shortcut": "oops", "title": "Oops", "body": "Hi {{customer.nickname}}",
        "scope": "personal"})
    assert unknown.status_code == 422 and unknown.json()["field"] == "body"
    shared = client.post("/api/v1/agent/canned", headers=alex, json={
        "shortcut": "all", "title": "All", "body": "Hello", "scope": "global"})
    assert shared.status_code == 403
    sam = login(client, "sam@example.test", PASSWORD)
    team_id = client.get("/api/v1/agent/directory", headers=sam).json()["teams"][0]["id"]
    team_reply = client.post("/api/v1/agent/canned", headers=sam, json={
        "shortcut": "hours", "title": "Hours", "body": "We are open 8-18.", "scope": "team",
        "team_id": team_id})
    assert team_reply.status_code == 201
    # Team members see it; Bea's personal list does not include Alex's personal reply.
    bea = login(client, "bea@example.test", PASSWORD)
    assert [r["shortcut"] for r in client.get("/api/v1/agent/canned", headers=bea).json()] == [
        "hours"]


def test_presence_and_the_supervisor_overview(client):
    alex = login(client, "alex@example.test", PASSWORD)
    sam = login(client, "sam@example.test", PASSWORD)
    assert client.get("/api/v1/agent/presence/me", headers=alex).json()["status"] == "offline"
    online = client.put("/api/v1/agent/presence/me", headers=alex,
                        json={"status": "online", "capacity": 3})
    assert online.status_code == 200 and online.json()["capacity"] == 3
    alex_id = online.json()["user_id"]
    assert client.put("/api/v1/agent/presence/me", headers=alex,
                      json={"status": "online", "capacity": 0}).json()["field"] == "capacity"
    _waiting_ticket(client)
    overview = client.get("/api/v1/agent/supervisor/overview", headers=sam).json()
    alex_row = next(a for a in overview["agents"] if a["id"] == alex_id)
    assert (alex_row["status"], alex_row["capacity"], alex_row["load"]) == ("online", 3, 0)
    assert sum(t["queued"] for t in overview["teams"]) == 1
    assert client.get("/api/v1/agent/supervisor/overview", headers=alex).status_code == 403


def test_routing_configuration_drives_assignment(client):
    sam = login(client, "sam@example.test", PASSWORD)
    alex = login(client, "alex@example.test", PASSWORD)
    team = client.get("/api/v1/support/teams", headers=sam).json()[0]
    rule = client.put("/api/v1/support/routing-rules", headers=sam, json={
        "match_field": "reason", "match_value": "bot_unavailable", "team_id": team["id"],
        "priority": "urgent"})
    assert rule.status_code == 200, rule.text
    configured = client.patch(f"/api/v1/support/teams/{team['id']}", headers=sam,
                              json={"assignment_policy": "round_robin"})
    assert configured.json()["assignment_policy"] == "round_robin"
    assert client.patch(f"/api/v1/support/teams/{team['id']}", headers=alex,
                        json={"assignment_policy": "manual"}).status_code == 403
    client.put("/api/v1/agent/presence/me", headers=alex, json={"status": "online"})
    cid, customer = _waiting_ticket(client)
    ticket = _ticket_of(client, alex, cid)
    assert ticket["team_id"] == team["id"] and ticket["priority"] == "urgent"
    assert ticket["assignee_name"] is not None and ticket["status"] == "open"
    status = client.get(f"/api/v1/conversations/{cid}/queue", headers=customer).json()
    assert status["status"] == "open" and status["position"] is None


def test_customer_sees_queue_position_and_can_leave_an_email(client):
    cid, customer = _waiting_ticket(client)
    status = client.get(f"/api/v1/conversations/{cid}/queue", headers=customer)
    assert status.status_code == 200
    body = status.json()
    assert body["position"] == 1 and body["eta_seconds"] > 0
    assert body["agents_online"] == 0 and body["reply_by_email"] is True
    assert body["email_known"] is False
    saved = client.put(f"/api/v1/conversations/{cid}/contact", headers=customer,
                       json={"email": "kim@example.test", "name": "Kim"})
    assert saved.status_code == 200
    assert client.get(f"/api/v1/conversations/{cid}/queue",
                      headers=customer).json()["email_known"] is True
    bad = client.put(f"/api/v1/conversations/{cid}/contact", headers=customer,
                     json={"email": "nope"})
    assert bad.status_code == 422 and bad.json()["field"] == "email"
    other_cid, _ = start_conversation(client)
    assert client.get(f"/api/v1/conversations/{other_cid}/queue",
                      headers=customer).status_code == 403


def test_waiting_customers_hear_when_the_queue_moves(client):
    first_cid, _ = _waiting_ticket(client)
    second_cid, second = _waiting_ticket(client)
    alex = login(client, "alex@example.test", PASSWORD)
    first = _ticket_of(client, alex, first_cid)
    token = second["X-Conversation-Token"]
    assert client.get(f"/api/v1/conversations/{second_cid}/queue",
                      headers=second).json()["position"] == 2
    with client.websocket_connect(f"/api/v1/conversations/{second_cid}/ws?token={token}") as ws:
        client.post(f"/api/v1/agent/tickets/{first['id']}/claim", headers=alex)
        event = ws.receive_json()
    assert event == {"type": "queue.changed"}
    assert client.get(f"/api/v1/conversations/{second_cid}/queue",
                      headers=second).json()["position"] == 1


def test_ratings_show_on_the_supervisor_overview(client):
    cid, customer = _waiting_ticket(client)
    alex = login(client, "alex@example.test", PASSWORD)
    ticket = _ticket_of(client, alex, cid)
    client.post(f"/api/v1/agent/tickets/{ticket['id']}/claim", headers=alex)
    client.post(f"/api/v1/agent/tickets/{ticket['id']}/solve", headers=alex)
    rated = client.post(f"/api/v1/conversations/{cid}/csat", headers=customer,
                        json={"score": 4, "comment": "quick and kind"})
    assert rated.status_code == 201, rated.text
    sam = login(client, "sam@example.test", PASSWORD)
    overview = client.get("/api/v1/agent/supervisor/overview", headers=sam).json()
    alex_id = client.get("/api/v1/auth/me", headers=alex).json()["id"]
    alex_row = next(a for a in overview["agents"] if a["id"] == alex_id)
    assert alex_row["csat_30d"]["count"] == 1 and alex_row["csat_30d"]["average"] == 4.0
    detail = client.get(f"/api/v1/agent/tickets/{ticket['id']}", headers=alex).json()
    assert detail["csat"]["score"] == 4 and detail["csat"]["comment"] == "quick and kind"
