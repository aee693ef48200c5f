"""Admission control (serving/admission.py) at the ASGI level: a live answer's turn is counted
with the uploads while it runs, so an upload past the cap is told to wait (503 + Retry-After)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from mockmentor.serving.admission import TURN_IN_PROGRESS, AdmissionControl


class Inner:
    """The app behind the middleware: a live socket that runs its turn when told to, and an
    upload endpoint that answers 200."""

    def __init__(self) -> None:
        self.turn_running, self.turn_may_end = asyncio.Event(), asyncio.Event()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.accept"})
            with scope[TURN_IN_PROGRESS]():
                self.turn_running.set()
                await self.turn_may_end.wait()
            await send({"type": "websocket.close", "code": 1000})
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


async def upload(control: AdmissionControl) -> tuple[int, dict[bytes, bytes], dict]:
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    await control({"type": "http", "path": "/answer_text", "method": "POST", "headers": []}, receive, send)
    start, body = sent[0], b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], dict(start["headers"]), json.loads(body)


def test_a_live_answers_turn_counts_as_an_answer_in_progress() -> None:
    async def scenario() -> None:
        inner = Inner()
        control = AdmissionControl(inner, max_pending=1, seconds_per_answer=1.5, max_live=4)
        assert (await upload(control))[0] == 200  # nothing in progress
        incoming: asyncio.Queue[dict] = asyncio.Queue()
        await incoming.put({"type": "websocket.connect"})

        async def nothing(message: dict) -> None:
            return None

        socket = asyncio.create_task(
            control({"type": "websocket", "path": "/live/answer"}, incoming.get, nothing)
        )
        await asyncio.wait_for(inner.turn_running.wait(), 5)
        status, headers, body = await upload(control)
        assert status == 503 and headers[b"retry-after"] == b"2", (status, headers)
        assert "busy with 1 answers" in body["error"]
        inner.turn_may_end.set()
        await asyncio.wait_for(socket, 5)
        assert control.pending == 0 and control.live == 0
        assert (await upload(control))[0] == 200  # the turn is over: uploads are served again

    asyncio.run(scenario())
