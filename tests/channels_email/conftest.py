from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.api_helpers import api_client
from tests.channels_email.mail import INBOUND_SECRET, SmtpCollector, settings_env


@pytest.fixture
def client(smtp: SmtpCollector) -> Iterator[TestClient]:
    with settings_env(TANDEM_INBOUND_EMAIL_SECRET=INBOUND_SECRET), api_client() as test_client:
        yield test_client


def post_email(client: TestClient, raw: bytes, secret: str | None = INBOUND_SECRET,
               content_type: str = "message/rfc822") -> dict:
    headers = {"Content-Type": content_type}
    if secret is not None:
        headers["X-Inbound-Secret"] = secret
    response = client.post("/api/v1/channels/email/inbound", content=raw, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()
