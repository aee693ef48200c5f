"""ASGI middleware: a 503 from the service says why and when to come back.

Inside the service a 503 means one thing: the interview database did not answer (nothing
was saved). BentoML replaces the body of every 5xx with "An unexpected error has
occurred", which would leave a candidate guessing; this puts the service's own sentence
back and adds Retry-After, so the page waits and sends the same request again, as it does
when admission control says the service is busy.
"""

from __future__ import annotations

import json
from typing import Any

BENTOML_5XX_BODY = {"error": "An unexpected error has occurred, please check the server log."}


class UnavailableResponses:
    def __init__(self, app: Any, message: str, retry_after_s: int) -> None:
        self.app, self.retry_after = app, str(retry_after_s).encode()
        self.body = json.dumps({"error": message}).encode()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: dict | None = None

        async def rewrite(message: dict) -> None:
            nonlocal held
            if message["type"] == "http.response.start" and message["status"] == 503:
                held = message  # decide once the body is known
                return
            if held is not None and message["type"] == "http.response.body":
                start, held = held, None
                body = message.get("body", b"")
                if _json(body) == BENTOML_5XX_BODY and not message.get("more_body"):
                    body = self.body
                headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
                if not any(k.lower() == b"retry-after" for k, _ in headers):
                    headers.append((b"retry-after", self.retry_after))
                headers.append((b"content-length", str(len(body)).encode()))
                await send({**start, "headers": headers})
                message = {**message, "body": body}
            await send(message)

        await self.app(scope, receive, rewrite)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None
