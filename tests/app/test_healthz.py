from tests.api_helpers import api_client


def test_healthz_reports_each_part_and_503_while_rasa_is_down(db_url):
    with api_client() as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"] == "ok"
    assert checks["rasa"].startswith("unreachable")
    assert set(checks) == {"database", "broker", "rasa", "knowledge_base"}


def test_openapi_is_served(db_url):
    with api_client() as client:
        spec = client.get("/openapi.json").json()
    assert "/api/v1/conversations/{conversation_id}/messages" in spec["paths"]
    assert "/api/v1/agent/tickets/{ticket_id}/claim" in spec["paths"]
