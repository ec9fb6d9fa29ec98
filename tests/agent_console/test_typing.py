"""Typing hints over the two WebSockets: the customer's reach agents, an agent's reach the
customer, throttled, never stored, and only for conversations the agent may see."""

from __future__ import annotations

import time

import pytest

from bot.channels.widget import TypingThrottle
from conversations import service as conversations
from conversations.models import Message
from core.database import session_scope
from handoff import intake
from tests.api_helpers import api_client
from tests.core.auth_helpers import bearer, make_team, user_in_team
from tests.factories import make_conversation


@pytest.fixture
def world(db_url):
    """A queued conversation of team red; an agent of red and one of blue."""
    with session_scope() as s:
        red, blue = make_team(s, "red"), make_team(s, "blue")
        red_agent, blue_agent = user_in_team(s, "agent", red), user_in_team(s, "agent", blue)
        conversation, token = make_conversation(s, channel="widget")
        conversations.add_customer_message(s, conversation, "I need a person", None)
        ticket = intake.hand_off(s, conversation, intake.HandoffSignal(
            reason="customer_request"))
        ticket.team_id = red.id
        tokens = {name: bearer(s, user)["Authorization"].split()[1]
                  for name, user in (("red", red_agent), ("blue", blue_agent))}
        world = {"conversation_id": conversation.id, "customer_token": token,
                 "agent_tokens": tokens, "red_name": red_agent.display_name}
    with api_client() as client:
        yield client, world


def _messages(conversation_id: str) -> int:
    with session_scope() as s:
        return s.query(Message).filter_by(conversation_id=conversation_id).count()


def test_throttle_lets_one_hint_through_per_interval():
    throttle = TypingThrottle(interval=2.0)
    assert throttle.allow(now=100.0)
    assert not throttle.allow(now=101.9)
    assert throttle.allow(now=102.0)


def test_customer_typing_reaches_agents_once_per_interval_and_is_not_stored(world):
    client, w = world
    cid, before = w["conversation_id"], _messages(w["conversation_id"])
    agent_url = f"/api/v1/agent/ws?token={w['agent_tokens']['red']}"
    customer_url = f"/api/v1/conversations/{cid}/ws?token={w['customer_token']}"
    with client.websocket_connect(agent_url) as agent, \
            client.websocket_connect(customer_url) as customer:
        customer.send_json({"type": "typing"})
        customer.send_json({"type": "typing"})  # within the interval: dropped
        customer.send_json({"type": "message", "text": "hello?", "client_message_id": "m1"})
        assert customer.receive_json()["type"] == "message.created"
        events = []
        while not events or events[-1]["type"] != "message.created":
            events.append(agent.receive_json())
    assert events[0] == {"type": "typing", "conversation_id": cid, "sender_type": "customer"}
    assert [e["type"] for e in events].count("typing") == 1
    assert _messages(cid) == before + 1  # only the message; hints are never stored


def test_agent_typing_reaches_the_customer_only_from_an_agent_who_may_see_it(world):
    client, w = world
    cid = w["conversation_id"]
    customer_url = f"/api/v1/conversations/{cid}/ws?token={w['customer_token']}"
    blue_url = f"/api/v1/agent/ws?token={w['agent_tokens']['blue']}"
    red_url = f"/api/v1/agent/ws?token={w['agent_tokens']['red']}"
    with client.websocket_connect(customer_url) as customer, \
            client.websocket_connect(blue_url) as outsider, \
            client.websocket_connect(red_url) as agent:
        outsider.send_text("not json")  # ignored, the socket stays open
        outsider.send_json({"type": "typing", "conversation_id": cid})
        time.sleep(0.5)  # had it been relayed, the outsider's hint would arrive first
        agent.send_json({"type": "typing", "conversation_id": cid})
        event = customer.receive_json()
    assert event == {"type": "typing", "sender_type": "agent", "name": w["red_name"]}
