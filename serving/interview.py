"""One interview, turn by turn: the hot path from an answer to the next spoken question.

A turn is a short run of named steps, each timed:

  check      session, token, text or audio limits (refusals become 4xx before anything streams)
  transcribe decode the upload, speech to text, delivery analytics       -> event `transcript`
  score      scorer (score + interval), key-point coverage               -> event `score`
  decide     probe the first missed point, or move to the next planned question
  reply      the interviewer's words, streamed and held to the turn contract (guard.py)
  speak      text to speech per sentence, as each is complete (the first  -> events `sentence`
             sentence's opening clause on its own: it plays while the rest is made)
  store      one database transaction: the turn with everything about it -> event `turn`

Nothing is written until the last step, so a turn that fails half way leaves no row. The
plan decides what is asked, the model words it (see mockmentor/interviewer/guard.py).
"""

from __future__ import annotations

import base64
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError

from mockmentor.interviewer.decoding import GenerationStopped
from mockmentor.interviewer.guard import (
    CLOSING,
    ENDED,
    OFF_TOPIC,
    OFF_TOPIC_AGAIN,
    Opening,
    guarded_feedback,
    keeps_contract,
    sentence_stream,
)
from mockmentor.interviewer.templates import OPENER_LEADS
from mockmentor.interviewer.turn import (
    AnswerFacts,
    Verdict,
    feedback_messages,
    opener_messages,
    plan_verdict,
    topic_label,
)
from mockmentor.speech.delivery import delivery
from mockmentor.speech.live_answer import Listening
from mockmentor.speech.synthesis import speech_parts
from mockmentor.speech.transcription import Transcript
from mockmentor.store.interviews import AccessDenied, DatabaseUnavailable, Store, Turn

from . import schemas
from .audio_input import decode_answer
from .coding_round import CODING_TOPIC
from .config import ServeConfig
from .model_loading import LoadedModels
from .question_bank import BankQuestion, PlanError
from .refusal import RequestRefused
from .session_claims import SessionClaims

DATABASE_DOWN = (
    "The interview database is unavailable right now, so this answer was not saved. "
    "Send it again in a few seconds."
)
logger = logging.getLogger("mockmentor.serving")
Event = tuple[str, BaseModel]  # (event name, payload): what the streaming endpoint forwards


@dataclass
class Pending:
    """An answer that passed every check, and what the turn learns about it step by step."""

    session_id: str
    token: str
    position: int
    question: BankQuestion
    asked: str  # the question as the candidate heard it (a probe or the planned question)
    probes_so_far: int
    retries_so_far: int  # answers to this question that did not address it
    next_planned: BankQuestion | None
    transcript: str
    source: str  # audio | text
    words: list[Any] | None
    audio: bytes | None
    started: float
    timings: dict[str, float] = field(default_factory=dict)
    stop: Callable[[], bool] | None = None  # asked by the interviewer before each token
    opening: OpeningAhead | None = None  # made on the answer heard so far, while it was spoken
    opening_used: bool = False  # the reply goes on from it (the plan's verdict did not change)


@dataclass(frozen=True)
class Decision:
    """What the interviewer asks after this answer: a probe, the same question again (the answer
    did not address it), the next question, or nothing."""

    probe: bool
    next_question: BankQuestion | None  # the planned question asked next (None when probing)
    asked_next: str | None  # the closing question as spoken (filled in after the reply)
    next_id: str | None
    retry: bool = False  # ask the same question again
    off_topic: bool = False  # the answer did not address the question


@dataclass(frozen=True)
class OpeningAhead:
    """The reply's opening clause, written and spoken on the answer heard so far while the
    candidate was still speaking (serving/answer_socket.py). When the answer ends, it is the
    reply's start if the plan's verdict on the whole answer is the one it was written for and it
    still keeps the turn contract; the model then goes on from it on the whole answer's prompt."""

    heard: str  # the transcript it was written on
    verdict: Verdict
    clause: str
    speech: schemas.Spoken
    made_ms: float  # scoring, the model's first words and Piper, while the candidate spoke


@dataclass(frozen=True)
class HeardAnswer:
    """A spoken answer transcribed while it was spoken (serving/answer_socket.py)."""

    transcript: Transcript
    audio: bytes  # the answer as WAV, kept only when keep_audio is on
    timings: dict[str, float]  # the live path's own steps (e.g. the last segment's transcription)
    # Set by the socket when it no longer wants this turn (a reply started early, and the
    # candidate spoke again): the interviewer stops at its next token and frees the model.
    dropped: threading.Event = field(default_factory=threading.Event)
    opening: OpeningAhead | None = None  # the reply's opening, made while the answer was spoken


RETRIES_PER_QUESTION = 1


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)


class InterviewEngine:
    def __init__(self, config: ServeConfig, models: LoadedModels, store: Store) -> None:
        self.config, self.models, self.store = config, models, store
        self.bank = models.bank
        self.claims = SessionClaims()  # shared with the coding round: one answer per session at a time
        self.listening = Listening()  # the live answers being spoken now (their drafts share the cores)

    # ---- speech -------------------------------------------------------------------------
    def spoken(self, sentence: str) -> schemas.Spoken:
        wav = self.models.voice.wav(sentence)
        return schemas.Spoken(text=sentence, audio_wav_base64=base64.b64encode(wav).decode())

    # ---- the interviewer's words ----------------------------------------------------------
    def _opener(self, question: BankQuestion) -> tuple[list[str], str]:
        """Lead sentence and question of the opening turn, and where they came from.

        The plan's own words: a welcome naming the topic, then exactly the planned question. The
        interviewer is trained on feedback turns only (written demonstrations), not on greetings.
        """
        lead = OPENER_LEADS[0].format(topic=topic_label(question.topic))
        return [lead, question.spoken], "template"

    def _prepare(self, question: BankQuestion | None, topic: str, asked: str | None) -> None:
        """Ready the turn that answers `question` while it is asked and answered, on a thread: the
        question's encodings for the scorer and the key-point coverage (then scoring encodes only
        the answer), and the feedback prompt prefilled up to the answer."""
        question = question if self.config.prepare_question else None
        if question is not None or (asked is not None and self.config.prefill_next_prompt):
            threading.Thread(target=self._ready, args=(question, topic, asked), daemon=True).start()

    def _ready(self, question: BankQuestion | None, topic: str, asked: str | None) -> None:
        try:
            if question is not None and question.reference.strip() and question.text.strip():
                self.models.scorer.prepare(question.text, question.reference)
                self.models.coverage.prepare(question.key_points)
            if asked is not None and self.config.prefill_next_prompt:
                self._warm(topic, asked, "")
        except Exception:  # the turn itself does all of this again; only its time is lost
            logger.exception("could not ready the next turn ahead of the answer")

    def prefill_answer(self, last: Turn, heard: str) -> None:
        """Prefill the feedback prompt through the answer heard so far (the live socket, while the
        candidate speaks): when the answer ends, only its last words and the lines that depend on
        the scoring are left to prefill, at about 2 ms a token on 2 cores."""
        question = self.bank.questions.get(last.next_question_id or "")
        answer = " ".join(heard.split())
        if question is None or not answer or not self.config.prefill_next_prompt:
            return
        self._warm(question.topic, last.next_question or question.spoken, answer)

    def opening_ahead(
        self, session: Any, last: Turn, token: str, heard: str, stop: Callable[[], bool]
    ) -> OpeningAhead | None:
        """The reply's opening clause and its speech, made on the answer heard so far (the live
        socket, while the candidate speaks; `session` and `last` as `answerable` gave them) by
        the turn's own steps: score, plan, the model's first words under the guard, Piper.

        The opening is the first sentence's opening clause, or the whole first sentence when it
        has none (most of the tuned model's first sentences: "You described the stack's order
        well."). None when the plan asks no model (an answer that does not address the
        question), when that opening breaks the contract, or when `stop` says it is no longer
        wanted. It prefills the prompt through the answer as
        `prefill_answer` does; nothing is stored."""
        if not (self.config.early_opening and self.config.first_clause_words):
            return None
        started = time.perf_counter()
        try:
            p = self._pending(session, last, token, None, heard, None, started)
            score = self._score(p)
            decision = self._decide(p, score)
            if decision.retry or decision.off_topic:
                return None
            facts = self._facts(p, score, decision)
            pieces = self.models.interviewer.stream(feedback_messages(facts), stop=stop)
            try:
                first = next(sentence_stream(pieces, self.config.first_clause_words), None)
            finally:
                pieces.close()  # frees the model for the next draft, or the turn itself
            # its opening clause, or the whole first sentence when it has none (words cut off by
            # the token limit are no sentence)
            whole = first is not None and ENDED.search(first) is not None
            if not (isinstance(first, Opening) or whole) or not keeps_contract(first, facts) or stop():
                return None
            speech = self.spoken(str(first))
        except (RequestRefused, GenerationStopped):
            return None
        return OpeningAhead(heard, facts.verdict, str(first), speech, _ms(started))

    def _warm(self, topic: str, asked: str, answer: str) -> None:
        """The feedback prompt prefilled through `answer` (none yet: through "Answer:")."""
        messages = feedback_messages(AnswerFacts(topic=topic, question=asked, answer=answer))
        try:
            self.models.interviewer.warm(messages, through=f"Answer: {answer}" if answer else "Answer:")
        except ValueError:  # the chat template changed the answer's text: nothing to gain, nothing lost
            logger.warning("could not prefill the feedback prompt: it does not hold the answer verbatim")

    # ---- sessions -----------------------------------------------------------------------
    def start(
        self,
        role: str,
        topic: str | None,
        difficulty: str,
        job_description: str | None,
        candidate_token: str | None,
    ) -> schemas.SessionStarted:
        plan = self._plan(role, topic, difficulty, job_description)
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
        self._prepare(first, first.topic, first.spoken)
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

    def _plan(self, role: str, topic: str | None, difficulty: str, job_description: str | None) -> list[str]:
        """The session's question ids: ranked by the job description when one is given."""
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
            return self.bank.plan(
                role,
                topic or None,
                difficulty,
                self.config.questions_per_session,
                seed=random.SystemRandom().randrange(2**32),
                job_vector=job_vector,
            )
        except PlanError as err:
            raise RequestRefused(HTTPStatus.UNPROCESSABLE_ENTITY, str(err)) from None

    def _state(self, session_id: str, token: str) -> tuple[Any, Turn]:
        try:
            session = self.store.session(session_id, token)
        except AccessDenied as err:
            raise RequestRefused(HTTPStatus.NOT_FOUND, str(err)) from None
        return session, session.turns[-1]

    def answer(
        self,
        session_id: str,
        token: str,
        *,
        audio: bytes | None = None,
        text: str | None = None,
        heard: HeardAnswer | None = None,
        claimed: bool = False,
    ) -> Iterator[Event]:
        """Check and transcribe the answer now (raising RequestRefused), then stream the turn.
        `heard`: an answer already transcribed while it was spoken (the live socket), whose caller
        may hold the session's claim itself (`claimed`) and release it when it is done."""
        started = time.perf_counter()
        if sum(a is not None for a in (audio, text, heard)) != 1:
            raise RequestRefused(HTTPStatus.UNPROCESSABLE_ENTITY, "send exactly one of: audio, text")
        session, last = self.answerable(session_id, token)
        if not claimed:
            self.claims.claim(session_id, "an answer to this session is already being processed")
        try:
            pending = self._pending(session, last, token, audio, text, heard, started)
        except BaseException:
            if not claimed:
                self.claims.release(session_id)
            raise
        return self._turn_events(pending, release=not claimed)

    def answerable(self, session_id: str, token: str) -> tuple[Any, Turn]:
        """The session and its last turn, if it waits for a spoken or written answer (else
        RequestRefused): checked before a live answer streams any audio."""
        session, last = self._state(session_id, token)
        if last.next_question_id is None:
            raise RequestRefused(HTTPStatus.CONFLICT, "this interview is finished; start a new session")
        if session.topic == CODING_TOPIC:
            raise RequestRefused(
                HTTPStatus.CONFLICT, "this session is a coding round: send your code to /run_code"
            )
        return session, last

    # ---- check and transcribe (before anything streams) ------------------------------------
    def _checked_text(self, text: str) -> str:
        transcript = " ".join(text.split())
        if not transcript:
            raise RequestRefused(HTTPStatus.UNPROCESSABLE_ENTITY, "the answer text is empty")
        if len(transcript) > self.config.max_answer_chars:
            raise RequestRefused(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"the answer is {len(transcript)} characters; the limit is {self.config.max_answer_chars}",
            )
        return transcript

    def spoken_reasoning(self, audio: bytes) -> tuple[str, dict[str, Any]]:
        """What a candidate said while coding: the transcript and its delivery analytics (raises
        AudioRejected for an upload that is not usable audio, like any answer)."""
        text, words = self._transcribed(audio, {})
        analytics = delivery(text, words, self.config.fillers, self.config.pause_seconds)
        return text, analytics.model_dump()

    def _transcribed(self, audio: bytes, timings: dict[str, float]) -> tuple[str, list[Any]]:
        step = time.perf_counter()
        samples = decode_answer(audio, self.config.audio_limits)  # raises AudioRejected
        timings["decode"] = _ms(step)
        step = time.perf_counter()
        heard = self.models.speech.transcribe(samples)
        timings["speech_to_text"] = _ms(step)
        if not heard.text.strip():
            raise RequestRefused(HTTPStatus.UNPROCESSABLE_ENTITY, "no speech was recognised in the recording")
        return heard.text, heard.words

    def _pending(
        self,
        session: Any,
        last: Turn,
        token: str,
        audio: bytes | None,
        text: str | None,
        heard: HeardAnswer | None,
        started: float,
    ) -> Pending:
        timings: dict[str, float] = {}
        opening = None
        if text is not None:
            transcript, words = self._checked_text(text), None
        elif heard is not None:
            if not heard.transcript.text.strip():
                raise RequestRefused(
                    HTTPStatus.UNPROCESSABLE_ENTITY, "no speech was recognised in the answer"
                )
            transcript, words, audio = (
                self._checked_text(heard.transcript.text),
                heard.transcript.words,
                heard.audio,
            )
            timings = heard.timings  # the same dict: a turn started early gets the socket's later ones
            opening = heard.opening
        else:
            transcript, words = self._transcribed(audio or b"", timings)
        question = self.bank.questions.get(last.next_question_id or "")
        if question is None:
            raise RequestRefused(
                HTTPStatus.CONFLICT, "this session's question is no longer in the question bank"
            )
        plan: list[str] = session.question_ids
        answered = [t for t in session.turns if t.kind == "feedback" and t.question_id == question.id]
        probes = sum(1 for t in answered if not t.off_topic)
        index = plan.index(question.id) if question.id in plan else len(plan)
        following = self.bank.questions.get(plan[index + 1]) if index + 1 < len(plan) else None
        return Pending(
            session_id=session.id,
            token=token,
            position=len(session.turns),
            question=question,
            asked=last.next_question or question.spoken,
            probes_so_far=probes,
            retries_so_far=len(answered) - probes,
            next_planned=following,
            transcript=transcript,
            source="text" if text is not None else "audio",  # a live answer is audio too
            words=words,
            audio=audio,
            started=started,
            timings=timings,
            stop=heard.dropped.is_set if heard is not None else None,
            opening=opening,
        )

    # ---- the turn ----------------------------------------------------------------------------
    def _turn_events(self, p: Pending, release: bool = True) -> Iterator[Event]:
        try:
            yield from self._run_turn(p)
        finally:
            if release:
                self.claims.release(p.session_id)

    def _run_turn(self, p: Pending) -> Iterator[Event]:
        analytics = delivery(p.transcript, p.words, self.config.fillers, self.config.pause_seconds)
        yield "transcript", schemas.Transcribed(transcript=p.transcript, delivery=analytics)
        score = self._score(p)
        yield "score", score
        decision = self._decide(p, score)
        facts = self._facts(p, score, decision)
        prompt = feedback_messages(facts)
        reply, sources, speech = [], set(), []
        step = time.perf_counter()
        for sentence, source in self._reply(p, prompt, facts, decision):
            reply.append(sentence)
            sources.add(source)
            # the first sentence's opening clause is spoken on its own: it plays while the rest is made
            parts = speech_parts(sentence, self.config.first_clause_words) if not speech else [sentence]
            for part in parts:
                speech.append(self._speak(p, part, first=len(speech) == 0, since=step))
                yield "sentence", speech[-1]
        p.timings["reply_total"] = _ms(step)
        if decision.probe:
            decision = Decision(True, None, reply[-1], p.question.id)
        p.timings["total"] = _ms(p.started)
        result = schemas.TurnResult(
            turn_id="",  # given by the store
            position=p.position,
            question=p.asked,
            transcript=p.transcript,
            delivery=analytics,
            score=score,
            reply=" ".join(reply),
            reply_source=next((s for s in ("template", "model+plan") if s in sources), "model"),
            speech=speech,
            next_question=decision.asked_next,
            follow_up=decision.probe,
            retry=decision.retry,
            finished=decision.next_id is None,
            timings_ms=p.timings,
        )
        yield from self._store(p, result, prompt, decision)

    def _score(self, p: Pending) -> schemas.Score:
        step = time.perf_counter()
        points = p.question.key_points
        q = p.question
        [scored] = self.models.scorer.score(
            [{"question": q.text, "question_id": q.id, "reference": q.reference, "answer": p.transcript}]
        )
        flags: list[bool] = []
        if scored.off_topic:  # an answer that does not address the question covers and misses nothing
            points = []
        else:
            [similarity] = self.models.coverage.similarities([p.transcript], [points])
            flags = self.models.coverage_rule.covered(similarity, scored.score)
        p.timings["score"] = _ms(step)
        return schemas.Score(
            score=scored.score,
            low=scored.low,
            high=scored.high,
            covered=[k for k, c in zip(points, flags, strict=True) if c],
            missed=[k for k, c in zip(points, flags, strict=True) if not c],
            off_topic=scored.off_topic,
            evidence=scored.evidence,
        )

    def _decide(self, p: Pending, score: schemas.Score) -> Decision:
        """Ask again when the answer did not address the question (once); probe the first missed
        point (at most probes_per_question times); else move on."""
        if score.off_topic and p.retries_so_far < RETRIES_PER_QUESTION:
            return Decision(False, None, p.asked, p.question.id, retry=True, off_topic=True)
        if score.missed and p.probes_so_far < self.config.probes_per_question:
            return Decision(True, None, None, p.question.id)
        following = p.next_planned
        if following is None:  # the interview ends with this turn
            return Decision(False, None, None, None, off_topic=score.off_topic)
        return Decision(False, following, following.spoken, following.id, off_topic=score.off_topic)

    def _facts(self, p: Pending, score: schemas.Score, decision: Decision) -> AnswerFacts:
        return AnswerFacts(
            topic=p.question.topic,
            question=p.asked,
            answer=p.transcript,
            verdict=plan_verdict(score.off_topic, score.missed, score.score, self.models.coverage_rule.wrong),
            covered=score.covered,
            missed=score.missed,
            hint=score.missed[0] if decision.probe else None,
            next_question=decision.next_question.spoken if decision.next_question else None,
        )

    def _reply(
        self, p: Pending, prompt: list[dict[str, str]], facts: AnswerFacts, decision: Decision
    ) -> Iterator[tuple[str, str]]:
        """(sentence, source) pairs: the model's streamed words under the guard; no praise and no
        model at all for an answer that did not address the question."""
        next_text = decision.next_question.spoken if decision.next_question else None
        if decision.retry:
            yield from ((OFF_TOPIC, "template"), (p.asked, "template"))
        elif decision.off_topic:
            yield OFF_TOPIC_AGAIN, "template"
            yield (f"Next question: {next_text}" if next_text else CLOSING), "template"
        else:
            opening = self.config.first_clause_words if self.config.early_opening else 0
            said = self._opening_said(p, facts)
            pieces = self.models.interviewer.stream(prompt, stop=p.stop, reply_start=said)
            model_sentences = sentence_stream(pieces, opening, said=said)
            yield from guarded_feedback(model_sentences, facts, decision.probe, next_text, seed=p.position)

    def _opening_said(self, p: Pending, facts: AnswerFacts) -> str:
        """The opening made while the answer was spoken, if it still fits the whole answer: the
        plan's verdict is the one it was written for and it keeps the contract with the whole
        answer's facts (what it missed may be more than the words heard then missed). Else ""."""
        ahead = p.opening
        if ahead is None:
            return ""
        p.opening_used = ahead.verdict == facts.verdict and keeps_contract(ahead.clause, facts)
        p.timings["opening_ahead"] = float(p.opening_used)  # 1: the reply starts from it; 0: it did not fit
        p.timings["opening_ahead_made"] = ahead.made_ms
        return ahead.clause if p.opening_used else ""

    def _speak(self, p: Pending, sentence: str, first: bool, since: float) -> schemas.Spoken:
        if first:
            p.timings["interviewer_first_sentence"] = _ms(since)
        step = time.perf_counter()
        ahead = p.opening if first and p.opening_used else None
        spoken = ahead.speech if ahead is not None and ahead.clause == sentence else self.spoken(sentence)
        if first:
            p.timings["tts_first_sentence"] = _ms(step)
            p.timings["first_audio"] = _ms(p.started)
        return spoken

    def _store(
        self, p: Pending, result: schemas.TurnResult, prompt: list[dict[str, str]], decision: Decision
    ) -> Iterator[Event]:
        """The turn in one transaction, then the `turn` event (or an `error` event, nothing saved)."""
        audio_path = self._keep_audio(p) if p.audio is not None and self.config.keep_audio else None
        try:
            turn = self.store.add_turn(
                p.session_id,
                p.token,
                **turn_row(result, p, prompt, decision, self.models.versions, audio_path),
            )
        except (IntegrityError, DatabaseUnavailable) as err:
            if audio_path:
                Path(audio_path).unlink(missing_ok=True)
            if isinstance(err, IntegrityError):
                yield (
                    "error",
                    schemas.TurnError(status=409, message="this question was answered concurrently"),
                )
            else:
                logger.error("%s", err)
                yield "error", schemas.TurnError(status=503, message=DATABASE_DOWN)
            return
        topic = (
            p.question.topic
            if decision.probe or decision.retry
            else (decision.next_question.topic if decision.next_question else "")
        )
        self._prepare(self.bank.questions.get(decision.next_id or ""), topic, decision.asked_next)
        yield "turn", result.model_copy(update={"turn_id": turn.id})

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


def turn_row(
    result: schemas.TurnResult,
    p: Pending,
    prompt: list[dict[str, str]],
    decision: Decision,
    versions: dict[str, str],
    audio_path: str | None,
) -> dict[str, Any]:
    """The database row of a turn: its API result plus what only the store keeps."""
    return {
        "position": result.position,
        "kind": "feedback",
        "topic": p.question.topic,
        "question_id": p.question.id,
        "question": result.question,
        "answer_source": p.source,
        "transcript": result.transcript,
        "analytics": result.delivery.model_dump(),
        "score": result.score.score,
        "score_low": result.score.low,
        "score_high": result.score.high,
        "covered": result.score.covered,
        "missed": result.score.missed,
        "off_topic": result.score.off_topic,
        "reply": result.reply,
        "reply_source": result.reply_source,
        "next_question_id": decision.next_id,
        "next_question": result.next_question,
        "prompt": prompt,
        "model_versions": versions,
        "timings_ms": result.timings_ms,
        "audio_path": audio_path,
    }
