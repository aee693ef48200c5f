"""Admission control: past a number of answers in progress, say so at once (503 + Retry-After).

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
    def __init__(self, app: Any, max_pending: int, seconds_per_answer: float) -> None:
        self.app, self.max_pending, self.seconds_per_answer = app, max_pending, seconds_per_answer
        self.pending = 0  # one event loop: no lock needed between awaits

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] not in ANSWER_PATHS:
            await self.app(scope, receive, send)
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
            await self.app(scope, receive, send)
        finally:
            self.pending -= 1
