"""A typed Python client for Tandem's customer API (docs/api.md).

Every answer is parsed into the response model /openapi.json names for the operation, so a
field the server stops sending, or sends with another type, fails here rather than deep in a
caller. Sending follows the documented careful client: no answer, or a 502/503/504, is sent
again with the same `client_message_id` after `Retry-After` (else 1, 2, 4… s), and the server
stores the message once.

    with CustomerClient("http://127.0.0.1:8000") as client:
        chat = client.start()
        turn = client.send(chat, "how long does shipping to Canada take?").turn
"""

from tandem_client.customer import (
    ApiError,
    AsyncCustomerClient,
    Chat,
    CustomerClient,
    Sent,
)

__all__ = ["ApiError", "AsyncCustomerClient", "Chat", "CustomerClient", "Sent"]
