"""A spoken answer over one WebSocket, transcribed while it is spoken: `ws://<host>/live/answer`.

  client  {"session_id": ..., "session_token": ..., "hands_free": true}      first, as text
  server  {"event": "ready", "sample_rate": 16000, "max_seconds": ..., "max_frame_ms": ...}
  client  binary frames: 16-bit little-endian PCM, mono, 16 kHz, at most max_frame_ms each
  server  {"event": "listening", speaking, silence_s, heard, countdown_s, reason}   when it changes
  client  {"type": "done"}  (the answer is over)   or   {"type": "cancel"}  (discard it)
  server  {"event": "end", "by": "done" | "silence", ...}, then the turn's events as the upload
          path streams them (transcript, score, sentence..., turn or error), then closes (1000)

While the candidate is silent where the answer may end (end_of_turn.py), the turn starts on
the transcript so far, up to its first spoken sentence; if the answer then ends with nothing more
said, that sentence goes out at once, and if the candidate speaks again it is dropped.

With `opening_ahead` (off by default), each new part of the transcript heard while the worker is
idle gets the reply's opening made for it and spoken by Piper (InterviewEngine.opening_ahead);
when the answer ends, the turn opens with the latest one if the plan's verdict on the whole
answer is the one it was made for, and the model goes on from it.

Nothing is stored until the turn's last step, so a connection that drops mid-answer leaves no
turn. Every refusal closes the socket with a code and a reason a person can read:
  1007  the opening message, a control message or an audio frame is malformed
  1008  the session refused the answer (unknown, finished, coding round, another answer in progress)
  1009  the answer passed the length limit (nothing saved)
  1000  cancelled by the client, or the turn is done
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, Field, ValidationError

from mockmentor.speech.live_answer import LiveAnswer, Status
from mockmentor.speech.pcm import SAMPLE_RATE

from .admission import TURN_IN_PROGRESS
from .config import ServeConfig
from .interview import Event, HeardAnswer, InterviewEngine, OpeningAhead
from .refusal import RequestRefused

MALFORMED, REFUSED, TOO_LONG, NORMAL = 1007, 1008, 1009, 1000
logger = logging.getLogger("mockmentor.serving")


class Opening(BaseModel):
    session_id: str = Field(min_length=1, max_length=64)
    session_token: str = Field(min_length=1, max_length=256)
    hands_free: bool = Field(default=False, description="end the answer by silence (else on 'done')")


class Closed(Exception):
    """The socket is closed (by us, with a reason, or by the client)."""


def event_data(name: str, payload: BaseModel) -> dict[str, Any]:
    """One turn event as JSON data; the `turn` event leaves out the speech its `sentence`s carried."""
    return {"event": name, **payload.model_dump(exclude={"speech"} if name == "turn" else None)}


class AnswerSocket:
    def __init__(self, websocket: Any, engine: InterviewEngine, config: ServeConfig) -> None:
        self.ws, self.engine, self.config = websocket, engine, config
        self.live_config = config.live_answer

    async def close(self, code: int, reason: str) -> Closed:
        await self.ws.close(code=code, reason=reason[:120])
        return Closed(reason)

    async def run(self) -> None:
        from starlette.websockets import WebSocketDisconnect

        await self.ws.accept()
        with contextlib.suppress(Closed, WebSocketDisconnect):
            await self._run()

    async def _run(self) -> None:
        opening = await self._opening()
        self.session, self.token = opening.session_id, opening.session_token
        try:
            state, last = await asyncio.to_thread(self.engine.answerable, self.session, self.token)
            # Held until the socket closes: no other answer to this session meanwhile.
            self.engine.claims.claim(self.session, "an answer to this session is already being processed")
        except RequestRefused as err:
            raise await self.close(REFUSED, str(err)) from None
        self.state, self.last = state, last
        models, question = self.engine.models, last.next_question or ""
        threshold = models.end_of_turn.threshold
        live = LiveAnswer(
            models.speech,
            self.live_config,
            self.config.max_audio_seconds,
            can_end=lambda text: models.sentence_end.log_probability(question, text) >= threshold,
            listening=self.engine.listening,
        )
        self.early: Early | None = None
        self.prefilled = ""  # the answer heard so far that the interviewer's prompt holds
        self.prefilling: asyncio.Task | None = None
        self.prefill_stop = threading.Event()  # set when the answer ends: the work in flight is not wanted
        self.ahead: OpeningAhead | None = None  # the latest opening made while the answer was spoken
        try:
            await self.ws.send_json(
                {
                    "event": "ready",
                    "sample_rate": SAMPLE_RATE,
                    "max_seconds": self.config.max_audio_seconds,
                    "max_frame_ms": self.live_config.max_frame_ms,
                }
            )
            ended_by = await self._listen(live, opening.hands_free)
            # From here the answer is a turn in progress, counted with the uploads (admission.py).
            with self.ws.scope.get(TURN_IN_PROGRESS, contextlib.nullcontext)():
                await self._turn(live, ended_by)
        finally:
            live.close()
            self._drop_early()
            self.engine.claims.release(self.session)
        await self.ws.close(code=NORMAL)

    async def _turn(self, live: LiveAnswer, ended_by: str) -> None:
        self.prefill_stop.set()  # an opening still being made is for words the answer went on from
        behind_ms = round(live.untranscribed_s * 1000, 1)
        step = time.perf_counter()
        transcript = await asyncio.to_thread(live.finish)
        timings = {
            "last_segment": round((time.perf_counter() - step) * 1000, 1),
            # what listening cost: the worker's time against the answer's length, and how far
            # behind it was when the answer ended (near 0 while it keeps up in real time)
            "listening_speech_to_text": round(live.transcribing_s * 1000, 1),
            "listening_audio": round(live.samples / SAMPLE_RATE * 1000, 1),
            "listening_behind_at_end": behind_ms,
        }
        started = await self._early_turn(transcript.text, timings)
        await self.ws.send_json(
            {"event": "end", "by": ended_by, "transcript": transcript.text, "started_early": bool(started)}
        )
        if started is None:
            audio = live.wav() if self.config.keep_audio else b""
            heard = HeardAnswer(transcript, audio, timings, opening=self.ahead)
            started = await self._start_turn(heard), []
        await self._forward(*started)

    async def _opening(self) -> Opening:
        try:
            text = await asyncio.wait_for(self.ws.receive_text(), timeout=self.live_config.start_timeout_s)
            return Opening.model_validate_json(text)
        except TimeoutError:
            raise await self.close(
                MALFORMED, "no opening message: send session_id and session_token first"
            ) from None
        except (ValidationError, KeyError) as err:
            fields = ", ".join(
                ".".join(map(str, e["loc"])) or "message" for e in getattr(err, "errors", list)()
            )
            raise await self.close(
                MALFORMED, f"the opening message is not valid ({fields or 'not JSON text'})"
            ) from None

    async def _listen(self, live: LiveAnswer, hands_free: bool) -> str:
        """Feed frames until the answer is over; returns what ended it ("done" or "silence")."""
        shown: tuple | None = None
        while True:
            try:
                message = await asyncio.wait_for(self.ws.receive(), timeout=0.1)
            except TimeoutError:
                message = None  # no frame for 100 ms: the countdown still moves on
            if message is not None:
                if message["type"] == "websocket.disconnect":
                    raise Closed("the client left mid-answer")
                if message.get("bytes") is not None:
                    await self._frame(live, message["bytes"])
                elif message.get("text") is not None:
                    return await self._control(message["text"])
            status = live.status(hands_free)
            if status.ended:
                return "silence"
            await self._speculate(live, status)
            self._prefill(live, status)
            if shown != (seen := _shown(status)):
                shown = seen
                await self.ws.send_json({"event": "listening", **status.__dict__})

    async def _frame(self, live: LiveAnswer, frame: bytes) -> None:
        limit_ms = self.live_config.max_frame_ms
        max_bytes = 2 * SAMPLE_RATE * limit_ms // 1000
        if len(frame) % 2 or len(frame) > max_bytes:
            raise await self.close(
                MALFORMED,
                f"an audio frame must be 16-bit PCM of at most {limit_ms} ms ({max_bytes} bytes); "
                f"got {len(frame)} bytes",
            )
        await asyncio.to_thread(live.feed, np.frombuffer(frame, "<i2").astype(np.float32) / 32768.0)
        if live.too_long:
            limit = self.config.max_audio_seconds
            raise await self.close(
                TOO_LONG, f"the answer passed the limit of {limit:.0f} s; nothing was saved"
            )

    async def _control(self, text: str) -> str:
        """A text message mid-answer: "done" ends the answer, "cancel" drops it."""
        try:
            kind = json.loads(text).get("type")
        except (json.JSONDecodeError, AttributeError):
            kind = None
        if kind == "cancel":
            raise await self.close(NORMAL, "cancelled; nothing was saved")
        if kind != "done":
            raise await self.close(MALFORMED, 'a text message must be {"type": "done"} or {"type": "cancel"}')
        return "done"

    # ---- the reply, started early -----------------------------------------------------------
    def _prefill(self, live: LiveAnswer, status: Status) -> None:
        """Prefill the interviewer's prompt through each new part of the answer heard (with
        `opening_ahead`, make the reply's opening on it, which prefills it too), one at a time,
        while only this answer is being spoken (the prompt cache is the process's one).

        The opening is made only while the worker is not transcribing, and given up at the
        model's next token once it is: on 2 cores, the two at once made the tail after "done"
        wait for drafts behind (README, "The opening made while the answer is spoken")."""
        config = self.live_config
        if not (config.prefill_answer or config.opening_ahead):
            return
        busy = self.prefilling is not None and not self.prefilling.done()
        alone = self.engine.listening.count <= config.draft_max_listening
        if busy or not alone or self.early is not None or status.heard == self.prefilled:
            return
        if config.opening_ahead:
            if live.transcribing:
                return
            self.prefilled = status.heard
            work = functools.partial(
                self.engine.opening_ahead,
                self.state,
                self.last,
                self.token,
                status.heard,
                lambda: self.prefill_stop.is_set() or live.transcribing,
            )
        else:
            self.prefilled = status.heard
            work = functools.partial(self.engine.prefill_answer, self.last, status.heard)
        self.prefilling = asyncio.create_task(asyncio.to_thread(work))
        self.prefilling.add_done_callback(self._made)

    def _made(self, task: asyncio.Task) -> None:
        """Keep the opening a finished prefill made; a failed one costs only its time."""
        if task.cancelled():
            return
        if (error := task.exception()) is not None:
            logger.warning("could not make the reply's opening ahead of the answer's end: %r", error)
        elif isinstance(made := task.result(), OpeningAhead):
            self.ahead = made  # the turn takes the latest one made by the time the tail is heard

    async def _speculate(self, live: LiveAnswer, status: Status) -> None:
        """Start the turn on the transcript so far while the candidate is silent and the answer
        may be over; drop it as soon as they speak again."""
        fresh = self.early is None or self.early.text != status.heard
        if status.speaking:
            self._drop_early()
        elif self.live_config.start_reply_early and status.likely_over and fresh:
            self._drop_early()
            snapshot = live.snapshot()  # every segment is transcribed already (likely_over)
            audio = live.wav() if self.config.keep_audio else b""
            heard = HeardAnswer(snapshot, audio, {"last_segment": 0.0})
            self.early = Early(snapshot.text, asyncio.create_task(self._first_sentence(heard)), heard)

    async def _first_sentence(self, heard: HeardAnswer) -> tuple[Iterator[Event], list[Event]]:
        """The turn up to its first spoken sentence (nothing is stored before the last step)."""
        events = await asyncio.to_thread(
            self.engine.answer, self.session, self.token, heard=heard, claimed=True
        )
        ready: list[Event] = []
        while (item := await asyncio.to_thread(next, events, None)) is not None:
            ready.append(item)
            if item[0] == "sentence":
                break
        return events, ready

    async def _early_turn(
        self, text: str, timings: dict[str, float]
    ) -> tuple[Iterator[Event], list[Event]] | None:
        """The early reply, if it was started on exactly the final transcript (and did not fail);
        `timings` join the ones it stores."""
        early = self.early
        if early is None or early.text != text:
            self._drop_early()
            return None
        self.early = None
        early.heard.timings.update(timings)  # the same dict as its turn's: stored with it
        try:
            return await early.task
        except Exception:  # refused or failed: the turn is run again, and says why
            return None

    def _drop_early(self) -> None:
        """Forget the early reply; it is closed (never stored) once its first sentence is out."""
        early, self.early = self.early, None
        if early is not None:
            early.heard.dropped.set()  # the interviewer stops at its next token
            early.task.add_done_callback(_close_early)

    async def _start_turn(self, heard: HeardAnswer) -> Iterator[Event]:
        try:
            return await asyncio.to_thread(
                self.engine.answer, self.session, self.token, heard=heard, claimed=True
            )
        except RequestRefused as err:
            raise await self.close(REFUSED, str(err)) from None

    async def _forward(self, events: Iterator[Event], ready: list[Event]) -> None:
        try:
            for item in ready:
                await self.ws.send_json(event_data(*item))
            while (item := await asyncio.to_thread(next, events, None)) is not None:
                await self.ws.send_json(event_data(*item))
        finally:
            await asyncio.to_thread(events.close)  # a client gone mid-reply: the turn is not stored


def _close_early(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is None:
        task.result()[0].close()


@dataclass
class Early:
    """A reply started before the answer ended, on the transcript `text`."""

    text: str
    task: asyncio.Task
    heard: HeardAnswer  # what it was started on; its `dropped` is set when it is no longer wanted


def _shown(status: Status) -> tuple:
    """What the page would show differently (the countdown in tenths of a second)."""
    countdown = None if status.countdown_s is None else round(status.countdown_s, 1)
    return (status.speaking, status.heard, countdown, status.reason)
