"""Admission control: past a number of answers in progress, say so at once (503 + Retry-After).

Every 503 the service sends carries Retry-After (a database outage's too), so one client
rule covers both: wait that long and send the same request again.

Every answer needs the same two CPU cores for about 1.5 s, so answers queue. Without a cap a
saturated service just gets slower until clients time out silently; with it, a candidate's
page is told at once how long to wait and retries by itself. Only the answer endpoints
count: starting a session, rating, reports and health checks are cheap and always served.
"""

from __future__ import annotations

import math
from typing import Any

from starlette.responses import JSONResponse

ANSWER_PATHS = frozenset({"/answer_audio", "/answer_text", "/answer_audio_stream", "/answer_text_stream"})


class AdmissionControl:
    def __init__(self, app: Any, max_pending: int, seconds_per_answer: float, retry_after_s: int = 5) -> None:
        self.app, self.max_pending, self.seconds_per_answer = app, max_pending, seconds_per_answer
        self.retry_after = str(retry_after_s).encode()
        self.pending = 0  # one event loop: no lock needed between awaits

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_retry_after(message: dict) -> None:
            if message["type"] == "http.response.start" and message["status"] == 503:
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"retry-after" for name, _ in headers):
                    message = {**message, "headers": [*headers, (b"retry-after", self.retry_after)]}
            await send(message)

        if scope["path"] not in ANSWER_PATHS:
            await self.app(scope, receive, send_with_retry_after)
            return
        if self.pending >= self.max_pending:
            wait = math.ceil(self.pending * self.seconds_per_answer)
            response = JSONResponse(
                {"error": f"the service is busy with {self.pending} answers; retry in {wait} s"},
                status_code=503,
                headers={"Retry-After": str(wait)},
            )
            await response(scope, receive, send)
            return
        self.pending += 1
        try:
            await self.app(scope, receive, send_with_retry_after)
        finally:
            self.pending -= 1
