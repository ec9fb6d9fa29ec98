"""The ML team's training-data API (agent_console.ml_api) over HTTP: filters, the actions
and their error codes, intents, snapshots and the streamed exports."""

from __future__ import annotations

import csv
import io

import pytest
import yaml

from core.database import session_scope
from tests.api_helpers import api_client
from tests.core.auth_helpers import bearer
from tests.factories import make_user
from training.models import CandidateOrigin, TrainingCandidate


@pytest.fixture
def ml(db_url):
    with session_scope() as s:
        headers = bearer(s, make_user(s, role="ml_engineer"))
        ids = []
        for i, (text, intent, conf) in enumerate([
                ("where is my parcel", "ask_shipping", 0.3),
                ("can I pay by invoice", "ask_payments", 0.6),
                ("do you sell gift cards", None, 0.2)]):
            c = TrainingCandidate(text=text, source="bot_turn", sources={"bot_turn": 1},
                                  count=1, predicted_intent=intent, confidence=conf,
                                  embedding=b"", channel="widget" if i else "email")
            s.add(c)
            s.flush()
            s.add(CandidateOrigin(candidate_id=c.id, origin_key=f"t:{c.id}", source="bot_turn"))
            ids.append(c.id)
    with api_client() as client:
        yield client, headers, ids


def test_annotation_over_http(ml):
    client, headers, (parcel, invoice, gift) = ml
    base = "/api/v1/training"

    page = client.get(f"{base}/candidates", params={"band": "low", "order": "confidence"},
                      headers=headers).json()
    assert [c["id"] for c in page["items"]] == [gift, parcel] and page["total"] == 2
    assert client.get(f"{base}/candidates", params={"band": "tepid"},
                      headers=headers).status_code == 422
    assert client.get(f"{base}/candidates", params={"channel": "email"},
                      headers=headers).json()["total"] == 1
    # Dates with or without a zone; a reversed range names the field.
    assert client.get(f"{base}/candidates", params={"date_from": "2000-01-01T00:00"},
                      headers=headers).json()["total"] == 3
    assert client.get(f"{base}/candidates", params={"date_to": "2000-01-01T00:00:00Z"},
                      headers=headers).json()["total"] == 0
    reversed_range = client.get(f"{base}/candidates", params={
        "date_from": "2030-01-01T00:00", "date_to": "2000-01-01T00:00"}, headers=headers)
    assert reversed_range.status_code == 422 and reversed_range.json()["field"] == "date_from"

    assert client.post(f"{base}/candidates/{parcel}/accept",
                       headers=headers).json()["label"] == "ask_shipping"
    again = client.post(f"{base}/candidates/{parcel}/reject", headers=headers)
    assert again.status_code == 409
    assert client.post(f"{base}/candidates/999999/accept", headers=headers).status_code == 404
    unknown = client.post(f"{base}/candidates/{invoice}/relabel", json={"intent": "nope"},
                          headers=headers)
    assert unknown.status_code == 422 and unknown.json()["field"] == "intent"

    created = client.post(f"{base}/intents", json={"name": "ask_gift_cards",
                                                   "candidate_ids": [gift]}, headers=headers)
    assert created.status_code == 201
    assert created.json()["labelled"][0]["label"] == "ask_gift_cards"
    names = {i["name"]: i["origin"] for i in client.get(f"{base}/intents",
                                                        headers=headers).json()}
    assert names["ask_gift_cards"] == "created" and names["greet"] == "rasa"

    bulk = client.post(f"{base}/candidates/bulk",
                       json={"action": "out_of_scope", "candidate_ids": [invoice]},
                       headers=headers)
    assert bulk.status_code == 200 and bulk.json()["updated"][0]["status"] == "out_of_scope"
    progress = client.get(f"{base}/candidates/progress", headers=headers).json()
    assert progress["total"] == {"pending": 0, "accepted": 2, "rejected": 0, "out_of_scope": 1}

    thin = client.post(f"{base}/snapshots", json={"name": "v1"}, headers=headers)
    assert thin.status_code == 422  # one gift-card example is too few
    assert thin.json()["field"] == "intent" and "ask_gift_cards" in thin.json()["message"]
    assert client.get(f"{base}/snapshots", headers=headers).json() == []


def test_snapshot_and_exports_over_http(ml):
    client, headers, _ = ml
    base = "/api/v1/training"
    created = client.post(f"{base}/snapshots", json={"name": "project only"}, headers=headers)
    assert created.status_code == 201, created.text
    snapshot = created.json()
    assert snapshot["version"] == 1 and len(snapshot["content_hash"]) == 64
    assert client.get(f"{base}/snapshots/{snapshot['id']}", headers=headers).json() == snapshot
    assert client.get(f"{base}/snapshots/999999", headers=headers).status_code == 404

    exported = client.get(f"{base}/snapshots/{snapshot['id']}/export.yml", headers=headers)
    assert exported.status_code == 200
    intents = {item["intent"] for item in yaml.safe_load(exported.text)["nlu"]}
    assert intents == set(snapshot["intent_counts"])
    with client.stream("GET", f"{base}/snapshots/{snapshot['id']}/export.csv",
                       headers=headers) as response:
        assert response.headers["content-type"].startswith("text/csv")
        body = "".join(response.iter_text())
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == snapshot["example_count"] + snapshot["out_of_scope_count"]
    # No update route: a snapshot never changes.
    assert client.put(f"{base}/snapshots/{snapshot['id']}", json={"name": "x"},
                      headers=headers).status_code == 405
