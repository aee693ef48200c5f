"""Admission control: past a number of answers in progress, say so at once (503 + Retry-After).

Every answer needs the same two CPU cores for about 1.5 s, so answers queue. Without a cap a
saturated service just gets slower until clients time out silently; with it, a candidate's
page is told at once how long to wait and retries by itself. Only the answer endpoints
count: starting a session, rating, reports and health checks are cheap and always served.

A live answer (the /live/answer socket) is counted apart: it listens for as long as the
candidate speaks, transcribing each segment as it ends (about 0.3 CPU-s per second of speech,
`make bench`), so the cap is on sockets open at once. Past it a new socket is accepted and
closed at once with 1013 (Try Again Later) and a reason the page shows; the page then falls
back to the record button, whose uploads the cap above governs. Once its answer has ended, a
live answer's turn (the last segment, scoring, the reply) is an answer in progress like an
upload: the socket enters `scope[TURN_IN_PROGRESS]()` for it, so the uploads' count and their
Retry-After see it. It is never refused there: the candidate has already spoken.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

from starlette.responses import JSONResponse

ANSWER_PATHS = frozenset({"/answer_audio", "/answer_text", "/answer_audio_stream", "/answer_text_stream"})
LIVE_PATH = "/live/answer"
TRY_AGAIN_LATER = 1013  # WebSocket close code: the server is overloaded
TURN_IN_PROGRESS = "mockmentor.turn_in_progress"  # scope key: counts a live answer's turn


class AdmissionControl:
    def __init__(self, app: Any, max_pending: int, seconds_per_answer: float, max_live: int) -> None:
        self.app, self.max_pending, self.seconds_per_answer = app, max_pending, seconds_per_answer
        self.max_live = max_live
        self.pending = 0  # one event loop: no lock needed between awaits
        self.live = 0

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket" and scope["path"] == LIVE_PATH:
            await self.listen(scope, receive, send)
            return
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

    async def listen(self, scope: dict, receive: Any, send: Any) -> None:
        if self.live >= self.max_live:
            if (await receive())["type"] != "websocket.connect":
                return
            reason = (
                f"the service is already listening to {self.live} answers at once; "
                "press Record answer instead"
            )
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": TRY_AGAIN_LATER, "reason": reason})
            return
        self.live += 1
        try:
            await self.app(scope | {TURN_IN_PROGRESS: self.answering}, receive, send)
        finally:
            self.live -= 1

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """A live answer's turn, counted as an answer in progress while it runs."""
        self.pending += 1
        try:
            yield
        finally:
            self.pending -= 1
