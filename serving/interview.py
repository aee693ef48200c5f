"""One interview, turn by turn: the hot path from an uploaded answer to the next spoken question.

  decode -> speech to text (VAD, word timestamps) -> delivery analytics
         -> scorer (score + interval) -> key-point coverage (covered / missed)
         -> interviewer LLM, streamed sentence by sentence -> text to speech per sentence
         -> one database transaction: the turn with everything about it

`answer` validates everything that can be refused (session, token, audio, text) before it
returns, so the HTTP layer can answer 4xx; it then returns an iterator of events that the
streaming endpoint forwards as they happen. Nothing is written until the last event: a
turn that fails half way leaves no row.

The plan decides what is asked, the model words it. The coverage rule picks a probe on the
first missed point (at most `probes_per_question` per question) or the next planned
question; the interviewer was trained on exactly those two cases. When the plan moves on
after a probe, or at the end, the model's feedback sentences are kept and the service
supplies the question ("model+plan"). A reply that breaks the turn contract is replaced by
the training templates ("template"), so a candidate never hears a malformed turn.
"""

from __future__ import annotations

import base64
import logging
import random
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError

from mockmentor.coverage import score_guard
from mockmentor.data.dialogue_targets import COMPLETE, OPENER_LEADS, feedback_target, lower_first
from mockmentor.interviewer_turn import (
    MAX_WORDS,
    ROLE_LEAK,
    AnswerFacts,
    TurnFormatError,
    feedback_messages,
    opener_messages,
    parse_turn,
    topic_label,
)

from . import schemas
from .audio_input import decode_answer
from .config import ServeConfig
from .delivery import delivery
from .models import LoadedModels
from .question_bank import BankQuestion, PlanError
from .refusal import RequestRefused
from .store import AccessDenied, DatabaseUnavailable, Store, Turn

CLOSING = "That was the last question; your report is ready."
DATABASE_DOWN = (
    "The interview database is unavailable right now, so this answer was not saved. "
    "Send it again in a few seconds."
)
logger = logging.getLogger("mockmentor.serving")
_BOUNDARY = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Pending:
    """An answer that passed every check, ready to be scored and answered."""

    session_id: str
    token: str
    position: int
    question: BankQuestion
    asked: str  # the question as the candidate heard it (a probe or the planned question)
    probes_so_far: int
    next_planned: BankQuestion | None
    transcript: str
    source: str
    words: list[Any] | None
    audio: bytes | None
    started: float
    timings: dict[str, float]


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)


def sentence_stream(pieces: Iterator[str]) -> Iterator[str]:
    """Complete sentences out of a token stream, each as soon as its end is seen."""
    buffer = ""
    for piece in pieces:
        buffer += piece
        *done, buffer = _BOUNDARY.split(buffer)
        yield from (s.strip() for s in done if s.strip())
    if buffer.strip():
        yield buffer.strip()


def guarded_feedback(
    model_sentences: Iterator[str], facts: AnswerFacts, probe: bool, next_text: str | None, seed: int
) -> Iterator[tuple[str, str]]:
    """(sentence, source) pairs of one feedback turn, each yielded as soon as it is ready.

    Feedback sentences come from the model while they keep to the contract (no speaker tags,
    at most two, within MAX_WORDS); its question is kept only when the plan is to probe and it
    quotes the missed point exactly.
    Whatever the model did not deliver is completed from the plan and the templates.
    """
    lead, words, source = 0, 0, "model"
    for sentence in model_sentences:
        words += len(sentence.split())
        if ROLE_LEAK.search(sentence) or words > MAX_WORDS:
            break
        if sentence.endswith("?"):
            if lead and probe and sentence.count("?") == 1 and quotes_point(sentence, facts.missed[0]):
                yield sentence, source
                return
            break  # no feedback before it, the plan moves on, or the point is misquoted
        if lead == 2:
            break  # a third feedback sentence: the model is rambling
        lead += 1
        yield sentence, source
    target = feedback_target(facts, random.Random(seed), score_rate=0.0)
    if lead == 0:
        source = "template"
        yield (parse_turn(target, "feedback").lead[0] if target else complete_lead(facts)), source
    elif source == "model":
        source = "model+plan"
    if probe and facts.missed and target:
        yield parse_turn(target, "feedback").question, source
    elif next_text:
        yield f"Next question: {next_text}", source
    else:
        yield CLOSING, source


def quotes_point(question: str, point: str) -> bool:
    """Whether a probe ends by quoting the missed point word for word, as it was trained to.

    The model sometimes drifts at the end of a long point ("... last-in-first-out) by the end
    of the day?"); a probe that does not quote the point exactly is asked from the template.
    """
    quoted = lower_first(point).lower()
    return question.lower().rstrip("?").rstrip().endswith(quoted) and len(question.split()) >= 3


def complete_lead(facts: AnswerFacts) -> str:
    point = facts.covered[0] if facts.covered else None
    return COMPLETE[0].format(point=lower_first(point)) if point else COMPLETE[2]


class InterviewEngine:
    def __init__(self, config: ServeConfig, models: LoadedModels, store: Store) -> None:
        self.config, self.models, self.store = config, models, store
        self.bank = models.bank
        self._busy: set[str] = set()
        self._busy_lock = threading.Lock()

    # ---- speech -------------------------------------------------------------------------
    def spoken(self, sentence: str) -> schemas.Spoken:
        wav = self.models.voice.wav(sentence)
        return schemas.Spoken(text=sentence, audio_wav_base64=base64.b64encode(wav).decode())

    # ---- the interviewer's words ----------------------------------------------------------
    def _opener(self, question: BankQuestion) -> tuple[list[str], str]:
        """Lead sentences and the question of the opening turn, and where they came from."""
        lead: list[str] = []
        source = "model"
        try:
            reply = self.models.interviewer.reply(opener_messages(question.topic, question.text))
            parsed = parse_turn(reply, "opener")
            lead = parsed.lead
            if parsed.question.rstrip("?").strip() != question.spoken.rstrip("?").strip():
                source = "model+plan"  # keep the model's welcome, ask exactly the planned question
        except TurnFormatError:
            lead, source = [OPENER_LEADS[0].format(topic=topic_label(question.topic))], "template"
        return [*lead, question.spoken], source

    def _prefill(self, topic: str, asked: str | None) -> None:
        """Prefill the next feedback prompt up to the answer while the candidate thinks and speaks."""
        if asked is None or not self.config.prefill_next_prompt:
            return
        facts = AnswerFacts(topic=topic, question=asked, answer="", score=0, score_low=0, score_high=0)
        messages = feedback_messages(facts)
        threading.Thread(target=self.models.interviewer.warm, args=(messages,), daemon=True).start()

    # ---- sessions -----------------------------------------------------------------------
    def start(
        self,
        role: str,
        topic: str | None,
        difficulty: str,
        job_description: str | None,
        candidate_token: str | None,
    ) -> schemas.SessionStarted:
        if job_description and len(job_description) > self.config.max_job_description_chars:
            raise RequestRefused(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"job_description is {len(job_description)} characters; the limit is "
                f"{self.config.max_job_description_chars}",
            )
        job_vector = None
        if job_description and job_description.strip():
            job_vector = self.models.coverage.embed([job_description.strip()])[0]
        try:
            plan = self.bank.plan(
                role,
                topic or None,
                difficulty,
                self.config.questions_per_session,
                seed=random.SystemRandom().randrange(2**32),
                job_vector=job_vector,
            )
        except PlanError as err:
            raise RequestRefused(HTTPStatus.UNPROCESSABLE_ENTITY, str(err)) from None
        first = self.bank.questions[plan[0]]
        started = time.perf_counter()
        sentences, source = self._opener(first)
        speech = [self.spoken(s) for s in sentences]
        session, turn, token, candidate = self.store.create_session(
            role=role,
            topic=topic or "any",
            difficulty=difficulty,
            job_description=job_description,
            question_ids=plan,
            candidate_token=candidate_token,
            opener={
                "topic": first.topic,
                "reply": " ".join(sentences),
                "reply_source": source,
                "next_question_id": first.id,
                "next_question": first.spoken,
                "prompt": opener_messages(first.topic, first.text),
                "model_versions": self.models.versions,
                "timings_ms": {"total": _ms(started)},
            },
        )
        self._prefill(first.topic, first.spoken)
        return schemas.SessionStarted(
            session_id=session.id,
            session_token=token,
            candidate_token=candidate,
            turn_id=turn.id,
            role=role,
            topic=topic or "any",
            questions_planned=len(plan),
            reply=" ".join(sentences),
            speech=speech,
        )

    def _state(self, session_id: str, token: str) -> tuple[Any, Turn]:
        try:
            session = self.store.session(session_id, token)
        except AccessDenied as err:
            raise RequestRefused(HTTPStatus.NOT_FOUND, str(err)) from None
        return session, session.turns[-1]

    def answer(
        self, session_id: str, token: str, *, audio: bytes | None = None, text: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Check and transcribe the answer now (raising RequestRefused), then stream the turn."""
        started = time.perf_counter()
        if (audio is None) == (text is None):
            raise RequestRefused(HTTPStatus.UNPROCESSABLE_ENTITY, "send exactly one of: audio, text")
        session, last = self._state(session_id, token)
        if last.next_question_id is None:
            raise RequestRefused(HTTPStatus.CONFLICT, "this interview is finished; start a new session")
        with self._busy_lock:
            if session_id in self._busy:
                raise RequestRefused(
                    HTTPStatus.CONFLICT, "an answer to this session is already being processed"
                )
            self._busy.add(session_id)
        try:
            pending = self._transcribe(session, last, token, audio, text, started)
        except BaseException:
            self._release(session_id)
            raise
        return self._turn_events(pending)

    def _release(self, session_id: str) -> None:
        with self._busy_lock:
            self._busy.discard(session_id)

    def _transcribe(
        self, session: Any, last: Turn, token: str, audio: bytes | None, text: str | None, started: float
    ) -> Pending:
        timings: dict[str, float] = {}
        words = None
        if text is not None:
            transcript = " ".join(text.split())
            if not transcript:
                raise RequestRefused(HTTPStatus.UNPROCESSABLE_ENTITY, "the answer text is empty")
            if len(transcript) > self.config.max_answer_chars:
                raise RequestRefused(
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                    f"the answer is {len(transcript)} characters; "
                    f"the limit is {self.config.max_answer_chars}",
                )
        else:
            step = time.perf_counter()
            samples = decode_answer(audio or b"", self.config.audio_limits)  # raises AudioRejected
            timings["decode"] = _ms(step)
            step = time.perf_counter()
            heard = self.models.speech.transcribe(samples)
            timings["speech_to_text"] = _ms(step)
            transcript, words = heard.text, heard.words
            if not transcript.strip():
                raise RequestRefused(
                    HTTPStatus.UNPROCESSABLE_ENTITY, "no speech was recognised in the recording"
                )
        question = self.bank.questions.get(last.next_question_id or "")
        if question is None:
            raise RequestRefused(
                HTTPStatus.CONFLICT, "this session's question is no longer in the question bank"
            )
        plan: list[str] = session.question_ids
        probes = sum(1 for t in session.turns if t.kind == "feedback" and t.question_id == question.id)
        index = plan.index(question.id) if question.id in plan else len(plan)
        following = self.bank.questions.get(plan[index + 1]) if index + 1 < len(plan) else None
        return Pending(
            session.id,
            token,
            len(session.turns),
            question,
            last.next_question or question.spoken,
            probes,
            following,
            transcript,
            "text" if text is not None else "audio",
            words,
            audio,
            started,
            timings,
        )

    def _turn_events(self, p: Pending) -> Iterator[dict[str, Any]]:
        try:
            yield from self._run_turn(p)
        finally:
            self._release(p.session_id)

    def _run_turn(self, p: Pending) -> Iterator[dict[str, Any]]:
        config, timings = self.config, p.timings
        analytics = delivery(p.transcript, p.words, config.fillers, config.pause_seconds)
        yield {"event": "transcript", "transcript": p.transcript, "delivery": analytics.model_dump()}

        step = time.perf_counter()
        [scored] = self.models.scorer.score(
            [{"question": p.question.text, "reference": p.question.reference, "answer": p.transcript}]
        )
        [flags] = self.models.coverage.covered([p.transcript], [p.question.key_points])
        flags = score_guard(flags, scored.score, config.full_marks, config.wrong)
        covered = [k for k, c in zip(p.question.key_points, flags, strict=True) if c]
        missed = [k for k, c in zip(p.question.key_points, flags, strict=True) if not c]
        score = schemas.Score(
            score=scored.score, low=scored.low, high=scored.high, covered=covered, missed=missed
        )
        timings["score"] = _ms(step)
        yield {"event": "score", **score.model_dump()}

        probe = bool(missed) and p.probes_so_far < config.probes_per_question
        next_question = None if probe else p.next_planned
        facts = AnswerFacts(
            topic=p.question.topic,
            question=p.asked,
            answer=p.transcript,
            score=scored.score,
            score_low=scored.low,
            score_high=scored.high,
            covered=covered,
            missed=missed,
            next_question=p.next_planned.text if p.next_planned else None,
        )
        step = time.perf_counter()
        reply: list[str] = []
        speech: list[schemas.Spoken] = []
        sources = set()
        prompt = feedback_messages(facts)
        model_sentences = sentence_stream(self.models.interviewer.stream(prompt))
        next_text = next_question.spoken if next_question else None
        for sentence, source in guarded_feedback(model_sentences, facts, probe, next_text, seed=p.position):
            if not reply:
                timings["interviewer_first_sentence"] = _ms(step)
            reply.append(sentence)
            sources.add(source)
            tts = time.perf_counter()
            spoken = self.spoken(sentence)
            if len(speech) == 0:
                timings["tts_first_sentence"] = _ms(tts)
                timings["first_audio"] = _ms(p.started)
            speech.append(spoken)
            yield {"event": "sentence", **spoken.model_dump()}
        timings["reply_total"] = _ms(step)
        reply_source = (
            "template" if "template" in sources else ("model+plan" if "model+plan" in sources else "model")
        )
        asked_next = reply[-1] if probe else (next_question.spoken if next_question else None)
        next_id = p.question.id if probe else (next_question.id if next_question else None)
        timings["total"] = _ms(p.started)
        audio_path = self._keep_audio(p) if p.audio is not None and config.keep_audio else None
        try:
            turn = self.store.add_turn(
                p.session_id,
                p.token,
                position=p.position,
                kind="feedback",
                topic=p.question.topic,
                question_id=p.question.id,
                question=p.asked,
                answer_source=p.source,
                transcript=p.transcript,
                analytics=analytics.model_dump(),
                score=scored.score,
                score_low=scored.low,
                score_high=scored.high,
                covered=covered,
                missed=missed,
                reply=" ".join(reply),
                reply_source=reply_source,
                next_question_id=next_id,
                next_question=asked_next,
                prompt=prompt,
                model_versions=self.models.versions,
                timings_ms=timings,
                audio_path=audio_path,
            )
        except (IntegrityError, DatabaseUnavailable) as err:
            if audio_path:
                Path(audio_path).unlink(missing_ok=True)
            if isinstance(err, IntegrityError):
                yield {"event": "error", "status": 409, "message": "this question was answered concurrently"}
            else:
                logger.error("%s", err)
                yield {"event": "error", "status": 503, "message": DATABASE_DOWN}
            return
        self._prefill(
            p.question.topic if probe else (next_question.topic if next_question else ""), asked_next
        )
        result = schemas.TurnResult(
            turn_id=turn.id,
            position=p.position,
            question=p.asked,
            transcript=p.transcript,
            delivery=analytics,
            score=score,
            reply=" ".join(reply),
            reply_source=reply_source,
            speech=speech,
            next_question=asked_next,
            follow_up=probe,
            finished=next_id is None,
            timings_ms=timings,
        )
        yield {"event": "turn", **result.model_dump(exclude={"speech"})}

    def _keep_audio(self, p: Pending) -> str:
        """The upload as received (only when keep_audio is on); the name is the turn's position."""
        folder = Path(self.config.audio_dir) / p.session_id
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{p.position}.audio"
        path.write_bytes(p.audio or b"")
        return str(path)

    # ---- ratings, reports ---------------------------------------------------------------
    def rate(
        self,
        session_id: str,
        token: str,
        turn_id: str,
        rating: int,
        comment: str | None,
        candidate_score: float | None,
    ) -> schemas.RatingSaved:
        try:
            saved = self.store.rate(session_id, token, turn_id, rating, comment, candidate_score)
        except AccessDenied as err:
            raise RequestRefused(HTTPStatus.NOT_FOUND, str(err)) from None
        return schemas.RatingSaved(
            turn_id=turn_id, rating=saved.rating, comment=saved.comment, candidate_score=saved.candidate_score
        )
