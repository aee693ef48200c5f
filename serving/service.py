"""The voice-interview service: `bentoml serve mockmentor.serving.service:MockMentor`.

Typed BentoML APIs (OpenAPI at /docs.json, Swagger UI at /), the web page at /app/, a
streaming turn endpoint that sends the transcript, the score and each spoken sentence as
server-sent events the moment each is ready, and a WebSocket at /live/answer that takes the
answer's audio while it is spoken (answer_socket.py). Models load once per worker in __init__.
Every session call carries the session's secret token; a wrong token and an unknown
session get the same 404, so ids cannot be probed.
"""

from __future__ import annotations

import json
import logging
import os
import signal
from collections.abc import Generator
from http import HTTPStatus
from pathlib import Path
from typing import Annotated

import bentoml
from bentoml.exceptions import BentoMLException
from pydantic import BaseModel, Field

with bentoml.importing():
    from fastapi import FastAPI, WebSocket
    from fastapi.staticfiles import StaticFiles

    from mockmentor.coding.sandbox import Sandbox, load_sandbox_limits
    from mockmentor.interviewer.turn import TOPIC_LABELS
    from mockmentor.serving import reports, schemas
    from mockmentor.serving.admission import AdmissionControl
    from mockmentor.serving.answer_socket import AnswerSocket, event_data
    from mockmentor.serving.coding_round import CODING_TOPIC, CodingRound, load_coding_problems
    from mockmentor.serving.config import load_serve_config
    from mockmentor.serving.interview import DATABASE_DOWN, InterviewEngine
    from mockmentor.serving.model_loading import load_models
    from mockmentor.serving.refusal import RequestRefused
    from mockmentor.serving.request_guard import RequestGuard
    from mockmentor.serving.unavailable import UnavailableResponses
    from mockmentor.settings import get_settings
    from mockmentor.store.interviews import AccessDenied, DatabaseUnavailable, Store

# Read once: the middlewares below need its limits before the class is instantiated.
CONFIG = load_serve_config()
PAGE = Path(__file__).resolve().parent / "page"
page = FastAPI(title="MockMentor page")
page.mount("/", StaticFiles(directory=PAGE, html=True), name="page")
live = FastAPI(title="MockMentor live answers")

SessionId = Annotated[str, Field(min_length=1, max_length=64, description="from start_session")]
Token = Annotated[str, Field(min_length=1, max_length=256, description="the session's secret token")]


logger = logging.getLogger("mockmentor.serving")


class Refused(BentoMLException):
    """A 4xx (or 503) with a message the page shows as it is."""


REFUSALS = (RequestRefused, AccessDenied, DatabaseUnavailable)


def refused(err: RequestRefused | AccessDenied | DatabaseUnavailable) -> Refused:
    if isinstance(err, DatabaseUnavailable):
        logger.error("%s", err)  # the operator's detail; the candidate gets a plain sentence
        return Refused(DATABASE_DOWN, error_code=HTTPStatus.SERVICE_UNAVAILABLE)
    status = err.status if isinstance(err, RequestRefused) else HTTPStatus.NOT_FOUND
    return Refused(str(err), error_code=status)


@bentoml.asgi_app(page, path="/app")
@bentoml.asgi_app(live, path="/live")
@bentoml.service(
    workers=1,  # one copy of every model per machine; requests share it through threads
    traffic={"timeout": 300, "max_concurrency": 32},
    http={"cors": {"enabled": False}},
)
class MockMentor:
    def __init__(self) -> None:
        try:
            self._load()
        except Exception:
            # BentoML would start this worker again every few seconds, forever, failing the same
            # way: stop the server instead, so `mockmentor serve` (and a test) sees it end.
            logger.exception("MockMentor could not start; stopping the server")
            if bentoml.server_context.worker_index is not None:  # a worker of `bentoml serve`
                os.kill(os.getppid(), signal.SIGTERM)
            raise

    def _load(self) -> None:
        self.config = CONFIG
        self.store = Store.open(get_settings().database_url)
        self.engine = InterviewEngine(self.config, load_models(self.config), self.store)
        self.coding = CodingRound(
            load_coding_problems(self.config.coding_problems),
            lambda: Sandbox(load_sandbox_limits()),
            store=self.store,
            claims=self.engine.claims,
            speak=self.engine.spoken,
            listen=self.engine.spoken_reasoning,
            problems_per_session=self.config.problems_per_session,
            max_runs_per_problem=self.config.max_runs_per_problem,
        )

    @bentoml.api(route="/catalogue")
    def catalogue(self) -> schemas.Catalogue:
        """Roles, their topics and the upload limits."""
        return schemas.Catalogue(
            roles=self.config.roles,
            coding_round_roles=self.config.coding_round_roles,
            coding_round=self.coding.status,
            topic_labels={t: TOPIC_LABELS.get(t, t) for t in self.engine.bank.topics}
            | {CODING_TOPIC: "Coding round (write and run code)"},
            difficulties=["easy", "medium", "hard"],
            limits={
                "max_audio_bytes": self.config.max_audio_bytes,
                "max_audio_seconds": self.config.max_audio_seconds,
                "max_answer_chars": self.config.max_answer_chars,
            },
        )

    @bentoml.api(route="/start_session")
    def start_session(
        self,
        role: Annotated[str, Field(max_length=64)],
        topic: Annotated[str, Field(max_length=64, description="one of the role's topics; empty: all")] = "",
        difficulty: schemas.Difficulty = "medium",
        job_description: Annotated[str, Field(max_length=100_000)] = "",
        candidate_token: Annotated[str, Field(max_length=256, description="from an earlier session")] = "",
    ) -> schemas.SessionStarted:
        """Plan an interview and speak its opening question (topic coding-round: the first problem)."""
        try:
            if topic == CODING_TOPIC:
                if role not in self.config.coding_round_roles:
                    raise Refused(
                        f"role '{role}' has no coding round", error_code=HTTPStatus.UNPROCESSABLE_ENTITY
                    )
                return self.coding.start(role, difficulty, candidate_token or None)
            return self.engine.start(
                role, topic, difficulty, job_description or None, candidate_token or None
            )
        except REFUSALS as err:
            raise refused(err) from None

    @bentoml.api(route="/answer_text")
    def answer_text(
        self, session_id: SessionId, session_token: Token, text: Annotated[str, Field(max_length=100_000)]
    ) -> schemas.TurnResult:
        """Answer the current question in writing; returns the whole turn."""
        return self._whole_turn(session_id, session_token, text=text)

    @bentoml.api(route="/answer_audio")
    def answer_audio(self, session_id: SessionId, session_token: Token, audio: Path) -> schemas.TurnResult:
        """Answer by voice (webm/opus, ogg, wav, flac or mp3); returns the whole turn."""
        return self._whole_turn(session_id, session_token, audio=self._read(audio))

    @bentoml.api(route="/answer_audio_stream")
    def answer_audio_stream(
        self, session_id: SessionId, session_token: Token, audio: Path
    ) -> Generator[str, None, None]:
        """Answer by voice; server-sent events: transcript, score, sentence (text + WAV) ..., turn."""
        return self._stream(session_id, session_token, audio=self._read(audio))

    @live.websocket("/answer")
    async def live_answer(self, websocket: WebSocket) -> None:
        """Answer by voice while speaking (protocol: serving/answer_socket.py)."""
        await AnswerSocket(websocket, self.engine, self.config).run()

    @bentoml.api(route="/answer_text_stream")
    def answer_text_stream(
        self, session_id: SessionId, session_token: Token, text: Annotated[str, Field(max_length=100_000)]
    ) -> Generator[str, None, None]:
        """Answer in writing; the same events as answer_audio_stream."""
        return self._stream(session_id, session_token, text=text)

    @bentoml.api(route="/run_code")
    def run_code(
        self,
        session_id: SessionId,
        session_token: Token,
        code: Annotated[str, Field(max_length=1_100_000, description="the solution, as Python source")],
    ) -> schemas.CodeTurnResult:
        """Coding round: run the code against the current problem's tests in the sandbox; the
        result, what the interviewer says about it and, when it moves on, the next problem."""
        try:
            return self.coding.run(session_id, session_token, code)
        except REFUSALS as err:
            raise refused(err) from None

    @bentoml.api(route="/run_code_spoken")
    def run_code_spoken(
        self,
        session_id: SessionId,
        session_token: Token,
        code: Annotated[str, Field(max_length=1_100_000, description="the solution, as Python source")],
        audio: Path,
    ) -> schemas.CodeTurnResult:
        """Coding round: run the code with what you said while writing it (webm/opus, ogg, wav,
        flac or mp3), which is transcribed into the turn."""
        try:
            return self.coding.run(session_id, session_token, code, self._read(audio))
        except REFUSALS as err:
            raise refused(err) from None

    @bentoml.api(route="/rate_turn")
    def rate_turn(
        self,
        session_id: SessionId,
        session_token: Token,
        turn_id: Annotated[str, Field(min_length=1, max_length=64)],
        rating: Annotated[int, Field(ge=1, le=5, description="how useful the feedback was, 1-5")],
        comment: Annotated[str, Field(max_length=2000)] = "",
        candidate_score: Annotated[
            float | None, Field(ge=0, le=5, description="the score you think your answer deserved")
        ] = None,
    ) -> schemas.RatingSaved:
        """Rate a turn's feedback (rating again replaces the earlier rating)."""
        try:
            return self.engine.rate(
                session_id, session_token, turn_id, rating, comment or None, candidate_score
            )
        except REFUSALS as err:
            raise refused(err) from None

    @bentoml.api(route="/session_report")
    def session_report(self, session_id: SessionId, session_token: Token) -> schemas.SessionReport:
        """Scores per question, what a strong answer would say and a tip for each, delivery advice,
        strongest and weakest topics."""
        try:
            session = self.store.session(session_id, session_token)
            return reports.session_report(session, self.engine.bank.references, self.coding.problems)
        except REFUSALS as err:
            raise refused(err) from None

    @bentoml.api(route="/history")
    def history(self, candidate_token: Token) -> schemas.History:
        """Every session started with this candidate token, oldest first (the progress chart)."""
        try:
            return reports.history(self.store.history(candidate_token))
        except REFUSALS as err:
            raise refused(err) from None

    @bentoml.api(route="/healthz")
    def healthz(self) -> dict[str, str]:
        """Models loaded, the database answering (503 while it does not), and which interviewer
        backend serves (llama.cpp, or transformers when llama.cpp failed its preflight)."""
        try:
            self.store.ping()
        except DatabaseUnavailable as err:
            raise refused(err) from None
        models = self.engine.models
        return {
            "status": "ok",
            "database": "ok",
            "interviewer_backend": models.interviewer.status,
            "coding_round": self.coding.status,
            **models.versions,
        }

    def _read(self, upload: Path) -> bytes:
        size = upload.stat().st_size
        if size > self.config.max_audio_bytes:
            raise Refused(
                f"the audio is {size / 1e6:.1f} MB, "
                f"over the limit of {self.config.max_audio_bytes / 1e6:.1f} MB",
                error_code=HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            )
        return upload.read_bytes()

    def _stream(self, session_id: str, token: str, **answer: bytes | str) -> Generator[str, None, None]:
        try:
            events = self.engine.answer(session_id, token, **answer)
        except REFUSALS as err:
            raise refused(err) from None
        return (server_sent(name, payload) for name, payload in events)

    def _whole_turn(self, session_id: str, token: str, **answer: bytes | str) -> schemas.TurnResult:
        try:
            _, final = list(self.engine.answer(session_id, token, **answer))[-1]
        except REFUSALS as err:
            raise refused(err) from None
        if isinstance(final, schemas.TurnError):
            raise Refused(final.message, error_code=HTTPStatus(final.status))
        return final


def server_sent(name: str, payload: BaseModel) -> str:
    """One SSE event; the `turn` event leaves out the speech its `sentence` events carried."""
    return f"event: {name}\ndata: {json.dumps(event_data(name, payload))}\n\n"


MockMentor.add_asgi_middleware(RequestGuard, max_body_bytes=CONFIG.max_audio_bytes)
MockMentor.add_asgi_middleware(
    AdmissionControl,
    max_pending=CONFIG.max_pending_answers,
    seconds_per_answer=CONFIG.seconds_per_answer,
    max_live=CONFIG.max_live_answers,
)
MockMentor.add_asgi_middleware(UnavailableResponses, message=DATABASE_DOWN, retry_after_s=5)
