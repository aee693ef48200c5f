"""An answer transcribed while it is spoken.

Audio arrives in frames. Voice activity (voice_activity.py) splits it at each pause; every
finished segment is transcribed at once on the answer's own worker thread, with everything said
before it as Whisper's prompt, while the candidate keeps talking. When the answer ends (Done
pressed, or the hands-free end of turn in end_of_turn.py) only the last segment is left, and its
encoder window is short too (`window_floor_s`, see transcription.py).

Fluent speech has few pauses, so that last segment is often most of the answer, and Whisper's
time grows with the words it decodes. So while a segment is being spoken it is transcribed as a
draft every `draft_every_s`, and the words that two drafts in a row agree on, ending at least
DRAFT_MARGIN_S before the draft's end, are kept: the segment is cut between the last kept word
and the next, and only the rest is left open (the stable-prefix policy of whisper_streaming,
"LocalAgreement-2"). When the answer ends, what is left is the tail since the last cut.

The candidate waits for that tail alone, so it is heard with less (`quick_tail`): no second VAD
pass (it is open, so no pause in it reached `segment_pause_s`), no word alignment (its words
share its span by length: delivery needs its end, and no gap inside it is a pause), and no
sentence-end check (the answer is over).

The candidate often stops before pressing Done, and an open segment has already gone quiet by
then. So once it has been silent for `early_tail_s` (the quick tail's own margin after the last
voiced window, or more), the tail is heard the quick way at once, before Done or the pause that
would close it: the same audio, so the same words. Done then finds it heard or on its way; a
pause that closes the segment reuses it and only asks the sentence-end model; speech that goes
on makes it stale, and it is dropped. It is extra work for the worker, so like the drafts it
runs only while few answers are spoken, and only when the worker is idle.

Drafts are extra work for the cores: beside a second candidate speaking at the same time on 2
cores they cost more than they saved (README). So the answers being spoken in one process share a
count (`Listening`), and drafts run only while no more than `draft_max_listening` are.

One LiveAnswer belongs to one connection; `feed`, `status` and `finish` are called from one
thread at a time (the socket's), the transcription runs on the worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic.dataclasses import dataclass as config_dataclass

from mockmentor.config import STRICT

from .delivery import Word
from .end_of_turn import judge
from .pcm import SAMPLE_RATE, wav_bytes
from .transcription import SpeechToText, Transcript, plain_word, spread_words
from .voice_activity import WINDOW, VoiceActivity

# A draft's last words change as more audio arrives (a word cut off at the draft's end, a
# sentence Whisper would end differently): only words ending this long before its end are kept.
DRAFT_MARGIN_S = 1.0
# Whisper's prompt: the end of what was said before, enough for names and spelling.
PROMPT_CHARS = 600
# The quick tail (below) is heard up to its last voiced window and this much after it, so the
# words spread over it end where the speech does (delivery's speaking rate).
TAIL_AFTER_VOICE_S = 0.1


@config_dataclass(config=STRICT)
class LiveAnswerConfig:
    segment_pause_s: float = field(
        default=0.3, metadata={"help": "a silence this long closes a segment, which is transcribed at once"}
    )
    end_silence_s: float = field(
        default=1.2,
        metadata={"help": "hands-free: the silence after a finished sentence that ends the answer"},
    )
    hold_silence_s: float = field(
        default=3.5, metadata={"help": "hands-free: the silence that ends it after an unfinished sentence"}
    )
    window_floor_s: float = field(
        default=10.0, metadata={"help": "shortest Whisper encoder window in seconds (30 = the upload path's)"}
    )
    min_segment_s: float = field(
        default=2.5,
        metadata={"help": "a segment shorter than this is transcribed again with the speech after it"},
    )
    max_segment_s: float = field(
        default=25.0, metadata={"help": "a segment this long is cut even without a pause"}
    )
    draft_every_s: float = field(
        default=2.0,
        metadata={
            "help": "transcribe the segment being spoken this often and keep the words two drafts "
            "agree on, so the answer's end leaves only a short tail (0: off; see the README)"
        },
    )
    quick_tail: bool = field(
        default=True,
        metadata={
            "help": "the segment still open at the answer's end is heard without word alignment "
            "or a second VAD pass, and nothing asks whether the answer may end there (see the README)"
        },
    )
    tail_prompt_chars: int = field(
        default=200,
        metadata={
            "help": "the quick tail's Whisper prompt: the last this many characters said before it "
            f"(the candidate waits for its decoding; {PROMPT_CHARS} elsewhere; see the README)"
        },
    )
    early_tail_s: float = field(
        default=0.1,
        metadata={
            "help": "hear the open segment the quick way once it has been silent this long, before "
            "Done or the pause that closes it (0: off; at least the quick tail's 0.1 s margin)"
        },
    )
    keep_last_draft: bool = field(
        default=True,
        metadata={
            "help": "a draft still being decoded when the answer ends is waited for and kept by the "
            "drafts' rule, so only the rest is left for the tail (see the README)"
        },
    )
    prefill_answer: bool = field(
        default=True,
        metadata={
            "help": "prefill the interviewer's prompt through the answer heard so far while it is "
            "spoken (with prefill_next_prompt; only while no other answer is spoken)"
        },
    )
    opening_ahead: bool = field(
        default=False,
        metadata={
            "help": "make the reply's opening (clause, or first sentence) and its speech on the answer "
            "heard so far while it is spoken and the worker is idle (which prefills the prompt too); "
            "the reply starts from it when the plan's verdict on the whole answer is the same (only "
            "while no other answer is spoken; off: on 2 cores it rarely pays, see the README)"
        },
    )
    draft_max_listening: int = field(
        default=1,
        metadata={"help": "drafts run only while at most this many answers are spoken in the process"},
    )
    vad_threshold: float = field(
        default=0.5, metadata={"help": "Silero speech probability that starts speech"}
    )
    pre_roll_s: float = field(default=0.2, metadata={"help": "audio kept before the first voiced window"})
    max_frame_ms: int = field(default=1000, metadata={"help": "longest accepted audio frame"})
    start_timeout_s: float = field(default=10.0, metadata={"help": "time allowed for the opening message"})
    start_reply_early: bool = field(
        default=True,
        metadata={"help": "start the reply while the candidate is silent; dropped if they go on"},
    )
    end_of_turn_rule: Path = field(
        default=Path("models/end_of_turn.json"),
        metadata={"help": "the sentence-end model and threshold fitted by evaluate_end_of_turn"},
    )

    def __post_init__(self) -> None:
        if not 0.1 <= self.segment_pause_s < self.end_silence_s <= self.hold_silence_s:
            raise ValueError("need 0.1 <= segment_pause_s < end_silence_s <= hold_silence_s")
        if not 1.0 <= self.window_floor_s <= 30.0 or not 5.0 <= self.max_segment_s <= 28.0:
            raise ValueError("window_floor_s must be within [1, 30] and max_segment_s within [5, 28]")
        if self.draft_every_s and not 0.5 <= self.draft_every_s <= self.max_segment_s:
            raise ValueError("draft_every_s must be 0 (off) or within [0.5, max_segment_s]")
        if self.early_tail_s and not TAIL_AFTER_VOICE_S <= self.early_tail_s < self.segment_pause_s:
            raise ValueError(f"early_tail_s must be 0 (off) or in [{TAIL_AFTER_VOICE_S}, segment_pause_s)")
        if self.early_tail_s and not self.quick_tail:
            raise ValueError("early_tail_s needs quick_tail: it hears the tail the quick way, ahead of time")
        if not 0 <= self.tail_prompt_chars <= PROMPT_CHARS:
            raise ValueError(f"tail_prompt_chars must be within [0, {PROMPT_CHARS}]")
        if self.draft_max_listening < 1:
            raise ValueError("draft_max_listening must be at least 1")
        if not 0 < self.vad_threshold < 1 or self.max_frame_ms < 20:
            raise ValueError("vad_threshold must be within (0, 1) and max_frame_ms at least 20")


class Listening:
    """How many answers are being spoken in this process right now, shared by their LiveAnswers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def add(self, change: int) -> None:
        with self._lock:
            self.count += change


@dataclass(frozen=True)
class Heard:
    transcript: Transcript  # of the segment
    can_end: bool  # may the answer end after it (the sentence-end model on everything so far)


@dataclass
class Segment:
    start: int  # sample offsets in the answer
    end: int
    heard: Future[Heard]
    cut_in_speech: bool = False  # ends where two drafts agreed, not at a pause


@dataclass
class Draft:
    """The segment being spoken, transcribed from `start` up to `end` while it goes on."""

    start: int
    end: int
    transcript: Future[Transcript]
    segments: int  # closed segments before it: a fragment before the open one is heard again in it


@dataclass(frozen=True)
class Tail:
    """How the open segment would be heard if it closed now: the same plan gives the same audio,
    so a tail heard early (`early_tail_s`) stands for one heard at the close."""

    start: int  # sample offsets in the answer
    heard_to: int
    segments: int  # closed segments before it (none popped: a fragment is never quick)
    after_cut: bool  # goes on from a draft's cut mid-speech
    voiced: tuple[float, float] | None  # the quick tail's voiced span in its audio; None: heard in full


@dataclass
class Status:
    """What the page shows while the candidate answers."""

    speaking: bool
    silence_s: float  # since the last voiced window
    heard: str  # the transcript of the segments finished so far
    countdown_s: float | None  # hands-free: seconds until the answer ends by silence, None: none running
    reason: str  # why that countdown (end_of_turn.Verdict.reason)
    ended: bool  # hands-free: the silence ended the answer
    likely_over: bool  # silent, every segment transcribed, and the answer may end here


class LiveAnswer:
    def __init__(
        self,
        speech: SpeechToText,
        config: LiveAnswerConfig,
        max_seconds: float,
        can_end: Callable[[str], bool],
        listening: Listening | None = None,
    ) -> None:
        """`can_end(text)`: may the answer end after `text`, the transcript so far
        (end_of_turn.SentenceEnd against its fitted threshold); `listening`: the count shared
        with the process's other live answers (None: this one alone)."""
        self.speech, self.config, self.can_end = speech, config, can_end
        self.listening = listening or Listening()
        self.listening.add(1)
        self.counted = True  # in `listening`, until finished or closed
        self.max_samples = int(max_seconds * SAMPLE_RATE)
        self.min_segment = int(config.min_segment_s * SAMPLE_RATE)
        self.vad = VoiceActivity(config.vad_threshold)
        self.audio = np.zeros(0, np.float32)
        self.chunks: list[np.ndarray] = []
        self.segments: list[Segment] = []
        self.open_from: int | None = None  # start of the segment being spoken
        self.draft: Draft | None = None  # of the segment being spoken, on the worker or done
        self.guess: list[Word] = []  # the last draft's words not kept yet (times in the answer)
        self.drafted_to = 0  # where the last draft ended
        self.early_tail: tuple[Tail, Future[Heard]] | None = None  # the open segment heard early
        self.transcribing_s = 0.0  # the worker's time so far: what listening costs
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="live-answer")
        self._jobs = 0  # submitted to the worker and not finished (or cancelled) yet
        self._jobs_lock = threading.Lock()

    def _submit(self, work: Callable[..., Any], *args: Any) -> Future:
        with self._jobs_lock:
            self._jobs += 1
        future = self.worker.submit(work, *args)
        future.add_done_callback(self._job_done)
        return future

    def _job_done(self, _: Future) -> None:
        with self._jobs_lock:
            self._jobs -= 1

    @property
    def transcribing(self) -> bool:
        """Is the worker transcribing (or about to)? Other work of this answer, which would share
        the cores with it, waits meanwhile (the socket's opening made ahead)."""
        return self._jobs > 0

    # ---- audio in --------------------------------------------------------------------------
    @property
    def samples(self) -> int:
        return sum(len(c) for c in self.chunks) if self.chunks else 0

    def feed(self, samples: np.ndarray) -> None:
        """Add a frame of 16 kHz mono float32; closes (and starts transcribing) finished segments."""
        self.chunks.append(samples.astype(np.float32, copy=False))
        states = self.vad.push(samples)
        pause = int(self.config.segment_pause_s * SAMPLE_RATE)
        for offset, voiced in enumerate(states):
            window = self.vad.windows - len(states) + offset
            if voiced and self.open_from is None:
                earliest = self.segments[-1].end if self.segments else 0
                self.open_from = max(earliest, window * WINDOW - int(self.config.pre_roll_s * SAMPLE_RATE))
            if self.open_from is None:
                continue
            ends_at = (window + 1) * WINDOW
            silent_for = ends_at - self.vad.last_voiced_sample
            too_long = ends_at - self.open_from >= self.config.max_segment_s * SAMPLE_RATE
            if (not voiced and silent_for >= pause) or too_long:
                self._close(ends_at, continuing=voiced)
        if self.config.draft_every_s and self.open_from is not None:
            self._next_draft()
        if self.config.early_tail_s and self.open_from is not None:
            self._hear_early()

    def _hear_early(self) -> None:
        """Hear the open segment as its quick tail once it has gone quiet (see the top)."""
        silence = self.vad.judged_samples - self.vad.last_voiced_sample
        if silence < self.config.early_tail_s * SAMPLE_RATE:
            return
        tail = self._tail(self.samples, final=True)
        busy = self.draft is not None and not self.draft.transcript.done()
        heard_already = self.early_tail is not None and self.early_tail[0] == tail
        if tail.voiced is None or busy or not self._may_work_ahead() or heard_already:
            return
        audio = self._audio()[tail.start : tail.heard_to]
        earlier = [s.heard for s in self.segments]
        self.early_tail = tail, self._submit(self._transcribe, audio, earlier, False, True, tail.voiced)

    # ---- drafts of the segment being spoken ---------------------------------------------------
    def _next_draft(self) -> None:
        """Keep what the finished draft agrees on with the one before; start the next draft once
        `draft_every_s` more has been said (one at a time, so the worker never falls behind)."""
        if self.draft is not None:
            if not self.draft.transcript.done():
                return
            self._take_draft()
        start = self.open_from or 0
        due = self.samples - max(self.drafted_to, start) >= self.config.draft_every_s * SAMPLE_RATE
        if due and self._may_work_ahead():
            end = self.drafted_to = self.samples
            segments = len(self.segments) - self._fragment_before()
            if segments < len(self.segments):  # a fragment is heard with the speech after it (_tail)
                start = self.segments[segments].start
            audio = self._audio()[start:end]
            earlier = [s.heard for s in self.segments[:segments]]
            self.draft = Draft(start, end, self._submit(self._transcribe_draft, audio, earlier), segments)

    def _take_draft(self) -> None:
        """Keep what the draft of the open segment agrees on with the one before (waiting for it to
        be decoded); a draft that failed is dropped. Still this segment's: closing a segment drops
        its draft (_close)."""
        draft, self.draft = self.draft, None
        if draft is not None and draft.transcript.exception() is None:
            self._keep_agreed(draft)

    def _may_work_ahead(self) -> bool:
        """May the worker hear ahead (a draft, a tail heard early): every closed segment is done
        and no more than `draft_max_listening` answers are being spoken in the process."""
        idle = all(s.heard.done() for s in self.segments)
        return idle and self.listening.count <= self.config.draft_max_listening

    def _transcribe_draft(self, audio: np.ndarray, earlier: list[Future[Heard]]) -> Transcript:
        return self._after(audio, earlier)[1]

    def _keep_agreed(self, draft: Draft) -> None:
        """Cut the open segment after the words this draft and the last agree on (see the top)."""
        transcript = draft.transcript.result()
        offset = draft.start / SAMPLE_RATE
        words = [Word(w.text, w.start + offset, w.end + offset) for w in transcript.words]
        agreed = 0
        while agreed < min(len(words), len(self.guess)) and _same(words[agreed], self.guess[agreed]):
            agreed += 1
        latest = draft.end / SAMPLE_RATE - DRAFT_MARGIN_S
        kept = 0
        while kept < agreed and words[kept].end <= latest:
            kept += 1
        self.guess = words
        if not kept:
            return
        after = words[kept].start if kept < len(words) else words[kept - 1].end
        cut = self._quietest(words[kept - 1].end - 0.1, min(max(after, words[kept - 1].end) + 0.1, latest))
        if cut - draft.start < self.min_segment:
            return  # a short piece would be heard again with what follows (see _close)
        start = draft.start / SAMPLE_RATE
        part = Transcript(
            " ".join(w.text for w in words[:kept]),
            [Word(w.text, w.start - start, w.end - start) for w in words[:kept]],
            transcript.language_probability,
        )
        heard: Future[Heard] = Future()
        heard.set_result(Heard(part, can_end=False))  # cut mid-speech: the candidate goes on
        del self.segments[draft.segments :]  # the fragment the draft heard again, if any
        self.segments.append(Segment(draft.start, cut, heard, cut_in_speech=True))
        self.open_from, self.guess = cut, words[kept:]

    def _quietest(self, from_s: float, to_s: float) -> int:
        """The sample between `from_s` and `to_s` where the audio is quietest (20 ms frames, 10 ms
        apart): Whisper's word times are only roughly right, and a cut inside a word leaves half
        of it to each side ("concerned" heard as "concern." and "turned.")."""
        audio = self._audio()
        lo, hi = int(from_s * SAMPLE_RATE), int(to_s * SAMPLE_RATE)
        hop, width = SAMPLE_RATE // 100, SAMPLE_RATE // 50
        starts = range(max(lo, 0), max(min(hi, len(audio)) - width, lo) + 1, hop)
        energy = [float(np.square(audio[i : i + width]).mean()) for i in starts]
        return (starts[int(np.argmin(energy))] + width // 2) if energy else lo

    # ---- segments ------------------------------------------------------------------------------
    def _fragment_before(self) -> bool:
        """Is the last closed segment a fragment ("differs from"), shorter than `min_segment_s`? It
        was transcribed for the pause's verdict; heard alone it invites Whisper to finish the
        sentence itself, so the open segment's drafts and tail hear it again with what follows."""
        return bool(self.segments) and self.segments[-1].end - self.segments[-1].start < self.min_segment

    def _tail(self, end: int, final: bool) -> Tail:
        """How the segment being spoken would be heard if it closed at `end` (changes nothing)."""
        start = self.open_from or 0
        segments = len(self.segments)
        # Open without a pause as long as 0.3 s (segment_pause_s) since its start: nothing for
        # a second VAD pass to drop, and no gap inside it that delivery counts as a pause.
        quick = final and self.config.quick_tail
        if self._fragment_before():  # heard again with what followed, in full: a pause between
            start, segments, quick = self.segments[-1].start, segments - 1, False
        # A short piece that goes on from a draft's cut is no fragment: it ends a sentence begun
        # before the cut, which Whisper has as its prompt.
        before = self.segments[segments - 1] if segments else None
        after_cut = before is not None and before.cut_in_speech and before.end == start
        if not quick:
            return Tail(start, end, segments, after_cut, None)
        # Heard up to its last voiced window and a little after; its words are spread over the
        # voiced part (after the pre-roll, unless it goes on from a cut mid-speech).
        voice_ends = max(start, self.vad.last_voiced_sample)
        heard_to = min(end, voice_ends + int(TAIL_AFTER_VOICE_S * SAMPLE_RATE))
        pre_roll = int(self.config.pre_roll_s * SAMPLE_RATE)
        voice_from = start if after_cut else min(start + pre_roll, voice_ends)
        voiced = ((voice_from - start) / SAMPLE_RATE, (voice_ends - start) / SAMPLE_RATE)
        return Tail(start, heard_to, segments, after_cut, voiced)

    def _close(self, end: int, continuing: bool = False, final: bool = False) -> None:
        """Close the segment being spoken at `end` and queue its transcription. `final`: the
        answer ended here, and the candidate waits for this segment alone (`quick_tail`)."""
        if self.draft is not None:
            self.draft.transcript.cancel()  # not started yet: the segment's own transcription replaces it
            self.draft = None
        self.guess = []
        tail = self._tail(end, final)
        # Closed at a pause, the segment heard early is the same audio: it stands (a pause's
        # close only adds the sentence-end check).
        early, self.early_tail = self.early_tail, None
        if early is None or continuing or early[0] != (tail if final else self._tail(end, final=True)):
            early = None
        else:
            tail = early[0]
        whole = end - tail.start >= self.min_segment or tail.after_cut
        self.open_from = end if continuing else None
        del self.segments[tail.segments :]  # a fragment, heard again with what follows
        earlier = [s.heard for s in self.segments]
        if early is None:
            audio = self._audio()[tail.start : tail.heard_to]
            heard = self._submit(self._transcribe, audio, earlier, whole, final, tail.voiced)
        elif final:
            heard = early[1]
        else:
            heard = self._submit(self._may_end, early[1], earlier, whole)
        self.segments.append(Segment(tail.start, end, heard))

    def _may_end(self, early: Future[Heard], earlier: list[Future[Heard]], whole: bool) -> Heard:
        """The segment heard early, with the sentence-end check its close asks for."""
        prompt = " ".join(f.result().transcript.text for f in earlier).strip()
        return self._verdict(prompt, early.result().transcript, whole)

    def _audio(self) -> np.ndarray:
        if len(self.chunks) > 1:
            self.chunks = [np.concatenate(self.chunks)]
        return self.chunks[0] if self.chunks else np.zeros(0, np.float32)

    def _after(
        self, audio: np.ndarray, earlier: list[Future[Heard]], quick: bool = False
    ) -> tuple[str, Transcript]:
        """`audio` transcribed with everything said before it as the prompt (the worker runs in
        order, so every earlier segment is done); returns the prompt and the transcript."""
        prompt = " ".join(f.result().transcript.text for f in earlier).strip()
        chars = self.config.tail_prompt_chars if quick else PROMPT_CHARS
        started = time.perf_counter()
        part = self.speech.transcribe(
            audio,
            prompt=prompt[max(0, len(prompt) - chars) :] or None,
            window_s=self.config.window_floor_s,
            vad=not quick,
            word_times=not quick,
        )
        self.transcribing_s += time.perf_counter() - started
        return prompt, part

    def _transcribe(
        self,
        audio: np.ndarray,
        earlier: list[Future[Heard]],
        whole: bool,
        final: bool,
        voiced: tuple[float, float] | None,
    ) -> Heard:
        """`voiced`: the quick tail's voiced span (seconds in `audio`), which its words fill."""
        prompt, part = self._after(audio, earlier, quick=voiced is not None)
        if voiced is not None:  # its words over the voiced span (no gap in it is a pause)
            part = Transcript(part.text, spread_words(part.text, *voiced), part.language_probability)
        if final:
            return Heard(part, can_end=False)  # the answer has ended: no one asks any more
        return self._verdict(prompt, part, whole)

    def _verdict(self, prompt: str, part: Transcript, whole: bool) -> Heard:
        """The segment `part`, heard after `prompt`, with whether the answer may end after it."""
        so_far = f"{prompt} {part.text}".strip()
        # A fragment shorter than min_segment_s is often misheard as a whole sentence ("differs
        # from" as "Difference."): the answer never ends by the short silence after one.
        return Heard(part, bool(so_far) and whole and self.can_end(so_far))

    # ---- while answering -----------------------------------------------------------------------
    def heard(self) -> str:
        """The transcript of every segment finished so far (those still being transcribed: not yet)."""
        done = []
        for segment in self.segments:
            if not segment.heard.done():
                break
            done.append(segment.heard.result().transcript.text)
        return " ".join(t for t in done if t)

    def status(self, hands_free: bool) -> Status:
        silence = (self.vad.judged_samples - self.vad.last_voiced_sample) / SAMPLE_RATE
        speaking = self.open_from is not None and silence < self.config.segment_pause_s
        heard = self.heard()
        settled = self.open_from is None and all(s.heard.done() for s in self.segments)
        countdown, reason, ended, likely_over = None, "speaking" if speaking else "listening", False, False
        if not speaking and settled and self.segments:
            can_end = self.segments[-1].heard.result().can_end
            verdict = judge(heard, can_end, self.config.end_silence_s, self.config.hold_silence_s)
            likely_over = verdict.reason == "can end here"  # not by the silence: end may equal hold
            if hands_free:
                reason = verdict.reason
                if verdict.required_silence_s is not None:
                    countdown = max(0.0, verdict.required_silence_s - silence)
                    ended = countdown == 0.0
        return Status(speaking, round(silence, 2), heard, countdown, reason, ended, likely_over)

    @property
    def untranscribed_s(self) -> float:
        """Seconds of finished segments still waiting for the worker: stays near zero while the
        transcription keeps up with the candidate."""
        waiting = sum(s.end - s.start for s in self.segments if not s.heard.done())
        return waiting / SAMPLE_RATE

    @property
    def too_long(self) -> bool:
        return self.samples > self.max_samples

    # ---- the end -------------------------------------------------------------------------------
    def finish(self) -> Transcript:
        """The whole answer: closes the segment being spoken, waits for the worker, and joins the
        segments (word times from the start of the answer)."""
        self._stop_counting()
        if self.open_from is not None:
            self._keep_last_draft()
            self._close(self.samples, final=True)
        return self.snapshot()

    def _keep_last_draft(self) -> None:
        """A draft of the open segment still being decoded when the answer ends (or decoded since
        the last frame): the tail would wait for the worker anyway, so it waits for the draft and
        keeps what it agrees on with the one before, by the rule used while the candidate spoke,
        and only the rest is left to hear. Not when the tail heard early stands for the end."""
        draft = self.draft
        if draft is None or draft.transcript.cancelled() or not self.config.keep_last_draft:
            return
        if self.early_tail is not None and self.early_tail[0] == self._tail(self.samples, final=True):
            return  # heard already: _close takes it as it is
        self._take_draft()  # a draft that failed leaves the tail heard whole, as without it

    def snapshot(self) -> Transcript:
        """Every closed segment joined (waits for the worker to transcribe them)."""
        words: list[Word] = []
        texts: list[str] = []
        probability = 1.0
        for segment in self.segments:
            part = segment.heard.result().transcript
            offset = segment.start / SAMPLE_RATE
            texts.append(part.text)
            words += [Word(w.text, w.start + offset, w.end + offset) for w in part.words]
            probability = min(probability, part.language_probability)
        return Transcript(" ".join(t for t in texts if t), words, probability)

    def wav(self) -> bytes:
        """The answer as a 16-bit WAV (what keep_audio stores)."""
        return wav_bytes(self._audio())

    def close(self) -> None:
        self._stop_counting()
        self.worker.shutdown(wait=False, cancel_futures=True)

    def _stop_counting(self) -> None:
        if self.counted:
            self.counted = False
            self.listening.add(-1)


def _same(a: Word, b: Word) -> bool:
    """The same word in two drafts (case and punctuation aside)."""
    return plain_word(a.text) == plain_word(b.text)
