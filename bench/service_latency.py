"""Voice-turn latency and throughput of the running service (`make bench`).

Starts the service exactly as `make run` does (the pipeline's champion scorer and tuned
interviewer, Whisper base int8, Piper) on loopback with a throw-away SQLite database, then
answers with real speech: the recorded clips in data/raw/speech (which answer no question, so
the service asks again without the model) and then, spoken by Piper, real Mohler student answers
to the question the interviewer just asked (`SpokenAnswers`). Per turn it records, on the
client, end of upload -> first audio byte of the reply (first `sentence` event of the
streaming endpoint) and -> the audio of the next question (the reply's last sentence),
plus the service's own per-stage timings. The baseline measured in the same run is the
whole-turn endpoint (/answer_audio), whose first audio byte arrives with the whole turn.

The live path (ws://.../live/answer) gets the same clips as a microphone sends them: 200 ms
frames in real time, each sent once it has been spoken (at its end). In button mode "done"
follows the clip's last frame, which is shorter, as the page's Done sends the part-frame it
holds; hands-free, silence follows until the service ends the answer by itself. Both are timed
from the clip's last voiced frame (Silero VAD) to the reply's first audio, and the upload path
beside them from the same point (its upload starts at the clip's end); hands-free also reports
the endpointing delay (last voiced frame -> the service ends the answer) apart from the reply
after it, and the service's CPU time per second of audio while the candidate speaks. The button
path is then timed again while a second candidate answers over their own live socket at the
same time: whether listening keeps up in real time on the machine's cores with one other
session active. (Before this release the bench sent each frame at its start, up to 200 ms
before a microphone could: its live figures started the clock that much late; `last_frame_ms`.)

    python bench/service_latency.py [--turns 24] [--concurrency 4 16] [--speech-models whisper-base ...]
                                    [--interviewers base:interviewer-base ...] [--settings KEY=VALUE ...]
                                    [--live-settings live_answer.KEY=VALUE ...]

Every speech model is measured (latency and word error rate on the same clips); the whole-turn
baseline and the concurrency runs use the first one (the default in configs/serving.yaml). The
same clips then go through each of `--interviewers` (default: the untuned packaged base, the same
size as the served model), so the cost of the served turns is measured in the same run, and
then through the configured interviewer under each of `--settings` (default:
first_clause_words=0, the reply's first sentence spoken whole, the baseline of the first clause).
The live button path is timed again under each of `--live-settings` (default: a draft still
being decoded at "done" dropped, `live_answer.keep_last_draft=false`, the release before; the
question encoded for the scorer and the coverage only once it is answered and the quick tail prompted with
600 characters of what was said before it, `prepare_question=false,
live_answer.tail_prompt_chars=600`, two releases back; the reply's opening
clause split off only once its whole first sentence is written, `early_opening=false`, the
release before the opening went out early; the tail heard in full after "done" and no prefill of
the answer heard so far, `live_answer.quick_tail=false, live_answer.early_tail_s=0,
live_answer.prefill_answer=false`, the release before the quick tail; and the quick tail heard
only after "done", `live_answer.early_tail_s=0`, as before the configuration hears it in the
silence after the last word).

Writes bench/results/service_latency.json.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import platform
import re
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jiwer
import numpy as np
import pandas as pd
import psutil
import yaml
from harness import SPEECH, candidate_voice, pcm, plain, speakable_answers, transcripts
from tqdm import tqdm

from mockmentor.serving.process import free_port, start_service, stop_service

REPO = Path(__file__).resolve().parent.parent
STAGES = ["decode", "speech_to_text", "score", "interviewer_first_sentence", "tts_first_sentence"]


def recorded_clips() -> tuple[list[tuple[str, bytes]], dict[str, str]]:
    """The recorded clips in data/raw/speech and what each says (they answer no bank question)."""
    clips = [(p.name, p.read_bytes()) for p in sorted(SPEECH.glob("*.*")) if p.suffix in (".wav", ".flac")]
    return clips, transcripts()


class SpokenAnswers:
    """Real student answers to the question the interviewer just asked, spoken by Piper.

    An answer to some other question is flagged off topic and answered by the service's retry
    line, which never reaches the interviewer model: a latency bench must answer what is asked.
    The question is found by its text in what the interviewer said (a follow-up keeps the last
    one); its answers of 8-40 words are taken in a fixed order.
    """

    def __init__(self) -> None:
        answers = speakable_answers().sort_values("id")
        self.by_question = {
            q: list(zip(g["id"], g["text"], strict=True)) for q, g in answers.groupby("question_id")
        }
        questions = pd.read_parquet(REPO / "data/processed/questions.parquet")
        self.questions = [
            (plain(t.rstrip("?")), q) for q, t in zip(questions["id"], questions["text"], strict=True)
        ]
        self.voice = candidate_voice(threads=os.cpu_count() or 2)
        self.said: dict[str, str] = {}
        self.current: str | None = None
        self._audio: dict[str, bytes] = {}

    def another_candidate(self) -> SpokenAnswers:
        """The same voice and spoken clips, for a second interview (its own current question)."""
        other = copy.copy(self)
        other.current, other.said = None, {}
        return other

    def answer(self, asked: str, turn: int) -> tuple[str, bytes]:
        spoken = plain(asked)
        found = [q for text, q in self.questions if text and text in spoken and q in self.by_question]
        self.current = found[0] if found else self.current or next(iter(self.by_question))
        answer_id, text = self.by_question[self.current][turn % len(self.by_question[self.current])]
        name = f"piper:{answer_id}"
        if name not in self._audio:
            self._audio[name] = self.voice.wav(text)
        self.said[name] = text
        return name, self._audio[name]

    def clips(self) -> list[tuple[str, bytes]]:
        """Every answer spoken so far, in a fixed order."""
        return [(name, self._audio[name]) for name in sorted(self._audio)]


FRAME_S = 0.2  # the page's frames: 200 ms


def trailing_silence_ms(clip: bytes) -> float:
    """How long the clip goes on after its last voiced frame."""
    samples = pcm(clip)
    return (len(samples) / 16_000 - last_voiced_s(samples)) * 1000


def last_voiced_s(samples: np.ndarray) -> float:
    """Where the clip's speech ends (the last voiced Silero window), in seconds."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    speech = get_speech_timestamps(samples, VadOptions(speech_pad_ms=0))
    return speech[-1]["end"] / 16_000 if speech else len(samples) / 16_000


def cpu_seconds(pid: int) -> float:
    """CPU time of the service and its worker processes so far."""
    root = psutil.Process(pid)
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


def percentile(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 1) if values else float("nan")


class Client:
    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=600)

    def start(self) -> dict:
        response = self.http.post(
            "/start_session", json={"role": "Software engineer", "topic": "intro-programming"}
        )
        response.raise_for_status()
        return response.json()

    def streamed_turn(self, session: dict, clip: tuple[str, bytes]) -> dict:
        auth = {"session_id": session["session_id"], "session_token": session["session_token"]}
        started = time.perf_counter()
        first_audio, last_audio, turn, busy = None, None, None, 0
        while turn is None:  # a well-behaved client: on 503, wait as long as Retry-After says
            with self.http.stream(
                "POST", "/answer_audio_stream", data=auth, files={"audio": (clip[0], clip[1], "audio/wav")}
            ) as response:
                if response.status_code == 503:
                    busy += 1
                    time.sleep(float(response.headers["Retry-After"]))
                    continue
                response.raise_for_status()
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    event = json.loads(line[5:])
                    now = (time.perf_counter() - started) * 1000
                    if event["event"] == "sentence":
                        first_audio = first_audio or now
                        last_audio = now
                    elif event["event"] == "turn":
                        turn = event
                    elif event["event"] == "error":
                        raise RuntimeError(event["message"])
        return {
            "clip": clip[0],
            "transcript": turn["transcript"],
            "first_audio_ms": first_audio,
            "question_audio_ms": last_audio,
            "server": turn["timings_ms"],
            "finished": turn["finished"],
            "interviewer_said": turn["reply"],
            "reply_source": turn["reply_source"],
            "reply_words": len(turn["reply"].split()),
            "busy_answers": busy,
        }

    def live_turn(self, session: dict, clip: tuple[str, bytes], hands_free: bool, pid: int) -> dict:
        """The clip through /live/answer in real time; times from its last voiced frame."""
        from websockets.exceptions import ConnectionClosed
        from websockets.sync.client import connect

        samples = pcm(clip[1])
        voiced_end = last_voiced_s(samples)
        frame = int(FRAME_S * 16_000)
        url = str(self.http.base_url).replace("http://", "ws://").rstrip("/") + "/live/answer"
        events, at = [], {}

        def take(message: str | bytes) -> None:
            event = json.loads(message)
            now = time.perf_counter()
            events.append(event)
            if event["event"] == "end":
                at["end"] = now
            elif event["event"] == "sentence":
                at.setdefault("first_audio", now)
                at["last_audio"] = now
            elif event["event"] == "error":
                raise RuntimeError(event["message"])

        with connect(url, open_timeout=60, close_timeout=60, max_size=2**24) as ws:
            opening = {k: session[k] for k in ("session_id", "session_token")} | {"hands_free": hands_free}
            ws.send(json.dumps(opening))
            json.loads(ws.recv(timeout=60))  # ready
            cpu, started = cpu_seconds(pid), time.perf_counter()
            sent = 0
            # hands-free: the clip, then silence, until the service ends the answer (which may be
            # before the clip's end: a cut-in, counted apart); with the button: the clip
            while ("end" not in at) if hands_free else (sent < len(samples)):
                chunk = samples[sent : sent + frame] if sent < len(samples) else np.zeros(frame, np.float32)
                # A microphone has a frame only once it has been spoken: each goes at its end (the
                # clip's last one, shorter, as the page's Done sends the part-frame it holds).
                due = started + (sent + len(chunk)) / 16_000
                time.sleep(max(0.0, due - time.perf_counter()))
                try:
                    ws.send((np.clip(chunk, -1, 1) * 32767).astype("<i2").tobytes())
                    sent += len(chunk)
                    while True:  # whatever the service said meanwhile
                        try:
                            take(ws.recv(timeout=0))
                        except TimeoutError:
                            break
                except ConnectionClosed:
                    break  # the answer ended, and the turn came and closed, between two frames
                if sent >= 60 * 16_000:
                    raise RuntimeError(f"{clip[0]}: the hands-free answer never ended")
            speaking_cpu = (cpu_seconds(pid) - cpu) / (min(sent, len(samples)) / 16_000)
            if not hands_free:
                ws.send(json.dumps({"type": "done"}))
            for message in ws:  # the rest, also what came before a close
                take(message)
        turn = events[-1]
        voiced = started + voiced_end
        return {
            "clip": clip[0],
            "transcript": turn["transcript"],
            "first_audio_ms": (at["first_audio"] - voiced) * 1000,
            "question_audio_ms": (at["last_audio"] - voiced) * 1000,
            "endpoint_ms": (at["end"] - voiced) * 1000,
            "reply_after_end_ms": (at["first_audio"] - at["end"]) * 1000,
            "server": turn["timings_ms"],
            "finished": turn["finished"],
            "interviewer_said": turn["reply"],
            "reply_source": turn["reply_source"],
            "reply_words": len(turn["reply"].split()),
            "speaking_cpu_per_audio_s": speaking_cpu,
            "trailing_silence_ms": (len(samples) / 16_000 - voiced_end) * 1000,
            # the clip's last frame: the bench sent each frame at its start before this release,
            # so "done" reached the service this much before the microphone could have sent it
            "last_frame_ms": ((len(samples) - 1) % frame + 1) / 16,
            "cut_in": hands_free and at["end"] < voiced,
        }

    def whole_turn(self, session: dict, clip: tuple[str, bytes]) -> dict:
        auth = {"session_id": session["session_id"], "session_token": session["session_token"]}
        started = time.perf_counter()
        response = self.http.post(
            "/answer_audio", data=auth, files={"audio": (clip[0], clip[1], "audio/wav")}
        )
        response.raise_for_status()
        return {
            "first_audio_ms": (time.perf_counter() - started) * 1000,
            "finished": response.json()["finished"],
            "interviewer_said": response.json()["reply"],
        }


def sequential(
    client: Client,
    recorded: list[tuple[str, bytes]],
    spoken: SpokenAnswers,
    turns: int,
    label: str,
    mode: str = "upload",
    pid: int = 0,
) -> list[dict]:
    """One candidate at a time, a new session whenever an interview finishes: the recorded clips
    first, then real answers to the question asked. `mode`: upload (streamed reply), whole,
    live (button) or hands-free."""
    results, session = [], client.start()
    asked = session["reply"]
    for turn in tqdm(range(turns), desc=f"{label} turns", unit="turn"):
        clip = recorded[turn] if turn < len(recorded) else spoken.answer(asked, turn)
        if mode in ("live", "hands-free"):
            result = client.live_turn(session, clip, mode == "hands-free", pid)
        elif mode == "upload":
            result = client.streamed_turn(session, clip)
            result["trailing_silence_ms"] = trailing_silence_ms(clip[1])
        else:
            result = client.whole_turn(session, clip)
        results.append(result)
        asked = result["interviewer_said"]
        if result["finished"]:
            session = client.start()
            asked = session["reply"]
    return results


def concurrent(url: str, clips: list[tuple[str, bytes]], sessions: int, turns_each: int) -> dict:
    """`sessions` candidates at once, each answering `turns_each` questions."""
    results: list[dict] = []
    errors: list[str] = []
    lock = threading.Lock()

    def candidate(index: int) -> None:
        client = Client(url)
        try:
            session = client.start()
            for turn in range(turns_each):
                result = client.streamed_turn(session, clips[(index * turns_each + turn) % len(clips)])
                with lock:
                    results.append(result)
                if result["finished"]:
                    session = client.start()
        except Exception as err:  # counted and reported: a lost turn is a finding, not a crash
            with lock:
                errors.append(f"{type(err).__name__}: {err}")

    started = time.perf_counter()
    threads = [threading.Thread(target=candidate, args=(i,)) for i in range(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    first = [r["first_audio_ms"] for r in results]
    return {
        "sessions": sessions,
        "turns_completed": len(results),
        "turns_lost": sessions * turns_each - len(results),
        "busy_503_then_retried": sum(r["busy_answers"] for r in results),
        "errors": errors[:5],
        "seconds": round(seconds, 1),
        "turns_per_minute": round(len(results) / seconds * 60, 1),
        "first_audio_p50_ms": percentile(first, 50),
        "first_audio_p95_ms": percentile(first, 95),
    }


def from_voice(results: list[dict], key: str = "first_audio_ms") -> dict:
    values = [r[key] for r in results]
    return {"p50_ms": percentile(values, 50), "p95_ms": percentile(values, 95)}


def listening(results: list[dict]) -> dict:
    """Does the live path keep up while the candidate speaks? The service's CPU time per second of
    their audio, its transcription worker's time per second of audio (real-time factor: under 1
    keeps up), and how much finished speech still waited for the worker when the answer ended."""

    def spread(values: list[float], digits: int) -> dict:
        return {"p50": round(float(np.median(values)), digits), "max": round(float(np.max(values)), digits)}

    server = [r["server"] for r in results]
    return {
        "service_cpu_seconds_per_audio_second": spread([r["speaking_cpu_per_audio_s"] for r in results], 3),
        "transcription_real_time_factor": spread(
            [t["listening_speech_to_text"] / t["listening_audio"] for t in server], 3
        ),
        "behind_at_end_ms": spread([t["listening_behind_at_end"] for t in server], 1),
        "cores": os.cpu_count(),
    }


def with_another_session(
    client: Client, recorded: list, spoken: SpokenAnswers, turns: int, pid: int
) -> tuple[list[dict], int]:
    """The live button path while a second candidate answers over their own live socket, in real
    time, one answer after another (its clips are the same kind: real answers to the question it
    was asked, spoken by Piper). Returns the measured turns and how many the other one took."""
    stop, other_turns, errors = threading.Event(), [], []
    other_spoken = spoken.another_candidate()

    def other() -> None:
        other_client = Client(str(client.http.base_url))
        session = other_client.start()
        asked, turn = session["reply"], 0
        while not stop.is_set():
            try:
                result = other_client.live_turn(session, other_spoken.answer(asked, turn), False, pid)
            except Exception as err:  # reported: the measured candidate's figures would be too kind
                errors.append(f"{type(err).__name__}: {err}")
                return
            other_turns.append(result)
            asked, turn = result["interviewer_said"], turn + 1
            if result["finished"]:
                session = other_client.start()
                asked = session["reply"]

    companion = threading.Thread(target=other, daemon=True)
    companion.start()
    try:
        measured = sequential(client, recorded, spoken, turns, "live (button), another session", "live", pid)
    finally:
        stop.set()
        companion.join(timeout=120)
    if errors:
        raise RuntimeError(f"the other session failed: {errors[0]}")
    return measured, len(other_turns)


def live_paths(
    client: Client, recorded: list, spoken: SpokenAnswers, turns: int, pid: int, upload: list[dict]
) -> dict:
    """The upload path, the live path with a button and hands-free, timed from the same point:
    each clip's last voiced frame (the upload path's upload starts at the clip's end); then the
    live button path again with another candidate answering live at the same time."""
    button = sequential(client, recorded, spoken, turns, "live (button)", mode="live", pid=pid)
    hands_free = sequential(client, recorded, spoken, turns, "live (hands-free)", mode="hands-free", pid=pid)
    shared, other_turns = with_another_session(client, recorded, spoken, turns, pid)
    said = spoken.said | transcripts()
    heard_out = [r for r in hands_free if not r["cut_in"]]  # a cut-in has no reply after the answer

    uploads = [r | {"upload": r["first_audio_ms"] + r["trailing_silence_ms"]} for r in upload]  # from voice
    return {
        "end_of_answer_to_first_audio": {
            "upload": from_voice(uploads, "upload"),
            "live_button": from_voice(button),
            "live_hands_free_after_endpoint": from_voice(heard_out, "reply_after_end_ms"),
            "live_hands_free_from_last_voiced": from_voice(heard_out),
        },
        "hands_free_endpointing_ms": from_voice(heard_out, "endpoint_ms"),
        "hands_free_cut_ins": [r["clip"] for r in hands_free if r["cut_in"]],
        "word_error_rate": {
            "upload": word_error_rate(upload, said),
            "live_button": word_error_rate(button, said),
            "live_hands_free": word_error_rate(hands_free, said),
        },
        "live_button": live_button(button, spoken),
        "live_stage_p50_ms": stage_p50(button),
        "listening_alone": listening(button + hands_free),
        "with_another_session": {
            "live_button_end_of_answer_to_first_audio": from_voice(shared),
            "listening": listening(shared),
            "word_error_rate": word_error_rate(shared, said),
            "other_session_turns": other_turns,
        },
        "turns": {
            "live_button": len(button),
            "live_hands_free": len(hands_free),
            "with_another_session": len(shared),
        },
    }


def stage_p50(turns: list[dict]) -> dict[str, float]:
    """The service's own p50 of each step after "done"."""
    return {
        stage: percentile([r["server"][stage] for r in turns if stage in r["server"]], 50)
        for stage in ["last_segment", "score", "interviewer_first_sentence", "tts_first_sentence"]
    }


def live_button(button: list[dict], spoken: SpokenAnswers) -> dict:
    """The live button path's figures: last voiced frame -> first audio, word error rate (with
    the three turns heard worst, to trace it), the time the answer's last segment took after
    "done", and each step's p50."""
    said = spoken.said | transcripts()
    heard = [(r["clip"], plain(said[r["clip"]]), plain(r["transcript"])) for r in button]
    worst = sorted(heard, key=lambda h: -jiwer.wer(h[1], h[2] or "-"))[:3]
    return {
        "end_of_answer_to_first_audio": from_voice(button),
        "word_error_rate": word_error_rate(button, said),
        "worst_turns": [{"clip": c, "said": s, "heard": h} for c, s, h in worst],
        "last_segment_ms": from_voice(
            [r["server"] for r in button if "last_segment" in r["server"]], "last_segment"
        ),
        "stage_p50_ms": stage_p50(button),
        "last_frame_ms": from_voice(button, "last_frame_ms"),
        "opening_ahead": opening_ahead(button),
        "turns": len(button),
    }


def opening_ahead(button: list[dict]) -> dict:
    """How often the reply started from the opening made while the answer was spoken, and the
    first audio with it and without it (a turn made none when the plan asked no model of it)."""
    made = [r for r in button if "opening_ahead" in r["server"]]
    used = [r for r in made if r["server"]["opening_ahead"] == 1.0]
    unused = [r for r in button if r not in used]
    return {
        "turns_with_one": len(made),
        "used": len(used),
        "first_audio_when_used": from_voice(used) if used else None,
        "first_audio_otherwise": from_voice(unused) if unused else None,
        "made_ms": from_voice([r["server"] for r in made], "opening_ahead_made") if made else None,
    }


def word_error_rate(results: list[dict], said: dict[str, str]) -> float:
    """Corpus WER of the transcripts against what each clip says (harness.plain)."""
    return round(
        jiwer.wer([plain(said[r["clip"]]) for r in results], [plain(r["transcript"]) for r in results]), 4
    )


def serving_config(
    base: Path, speech_model: str, folder: Path, interviewer: str | None = None, setting: str | None = None
) -> Path:
    config = yaml.safe_load(base.read_text())
    config["serve"]["speech_model"] = speech_model
    if interviewer:
        config["serve"]["interviewer"] = interviewer
    # KEY=VALUE in the serve section (SECTION.KEY in one of its sections), read as YAML; several
    # joined by commas (a comma followed by the next KEY=)
    for one in re.split(r",(?=[\w.]+=)", setting or ""):
        if not one:
            continue
        key, _, value = one.partition("=")
        *sections, field = key.split(".")
        section = config["serve"]
        for name in sections:
            section = section.get(name) if isinstance(section.get(name), dict) else {}
        if field not in section:
            raise SystemExit(f"{one}: the serve section has no field {key!r}")
        section[field] = yaml.safe_load(value)
    path = folder / f"serving-{speech_model}-{len(list(folder.glob('serving-*')))}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def summary(results: list[dict]) -> dict:
    first = [r["first_audio_ms"] for r in results]
    out = {
        "turns": len(results),
        "first_audio_p50_ms": percentile(first, 50),
        "first_audio_p95_ms": percentile(first, 95),
    }
    if results and "question_audio_ms" in results[0]:
        question = [r["question_audio_ms"] for r in results]
        out |= {
            "question_audio_p50_ms": percentile(question, 50),
            "question_audio_p95_ms": percentile(question, 95),
        }
        out["stage_p50_ms"] = {
            stage: percentile([r["server"][stage] for r in results if stage in r["server"]], 50)
            for stage in STAGES
        }
        out["server_first_audio_p50_ms"] = percentile([r["server"]["first_audio"] for r in results], 50)
        out["reply_sources"] = pd.Series([r["reply_source"] for r in results]).value_counts().to_dict()
        out["reply_words_p50"] = percentile([r["reply_words"] for r in results], 50)
        # the turns the interviewer model spoke (not the service's own retry or fallback lines)
        modelled = [r["first_audio_ms"] for r in results if r["reply_source"] != "template"]
        out["model_turns"] = len(modelled)
        out["model_turns_first_audio_p50_ms"] = percentile(modelled, 50)
        out["model_turns_first_audio_p95_ms"] = percentile(modelled, 95)
    return out


@contextlib.contextmanager
def warm_service(config: Path, work: Path, clip: tuple[str, bytes]) -> Iterator[tuple[Client, int]]:
    """A service on `config` with its own database, warmed by one turn; yields a client and its pid."""
    port = free_port()
    with (work / f"{config.stem}.log").open("wb") as sink:
        process = start_service(
            port, config=config, database_url=f"sqlite:///{work}/{config.stem}.db", log=sink
        )
    try:
        client = Client(f"http://127.0.0.1:{port}")
        client.streamed_turn(client.start(), clip)  # warm-up: first calls allocate
        yield client, process.pid
    finally:
        stop_service(process)


# The release before this one: the question encoded for the scorer and coverage only once it is
# answered, and the quick tail prompted with up to 600 characters of what was said before it.
UNPREPARED = "prepare_question=false,live_answer.tail_prompt_chars=600"
LAST_DRAFT_DROPPED = "live_answer.keep_last_draft=false"
# The reply's opening made while the answer is spoken: off in the configuration (README)
OPENING_AHEAD_ON = "live_answer.opening_ahead=true"
EARLY_TAIL_OFF = "live_answer.early_tail_s=0"
# The live path before the quick tail and the answer prefill (two releases back).
PREVIOUS_LIVE_PATH = ",".join(
    f"live_answer.{setting}" for setting in ("quick_tail=false", "early_tail_s=0", "prefill_answer=false")
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--turns", type=int, default=24)
    parser.add_argument("--concurrency", type=int, nargs="*", default=[4, 16])
    parser.add_argument("--turns-per-session", type=int, default=2)
    parser.add_argument("--config", type=Path, default=REPO / "configs/serving.yaml")
    parser.add_argument("--speech-models", nargs="+", default=["whisper-base", "whisper-tiny-en"])
    parser.add_argument(
        "--interviewers", nargs="*", default=["base:interviewer-base"],
        help="other interviewers to time with the first speech model, beside the configured one",
    )  # fmt: skip
    parser.add_argument(
        "--settings", nargs="*", default=["first_clause_words=0"],
        help="serve settings (KEY=VALUE) to time with the configured interviewer, each in its own run",
    )  # fmt: skip
    parser.add_argument(
        "--live-settings", nargs="*",
        default=[
            OPENING_AHEAD_ON, LAST_DRAFT_DROPPED, UNPREPARED, "early_opening=false", PREVIOUS_LIVE_PATH,
            EARLY_TAIL_OFF,
        ],
        help="serve settings (KEY=VALUE, several joined by commas) to time on the live button path, "
        "each in its own run",
    )  # fmt: skip
    parser.add_argument("--output", type=Path, default=REPO / "bench/results/service_latency.json")
    args = parser.parse_args()

    recorded, said = recorded_clips()
    recorded = recorded[: args.turns]
    spoken = SpokenAnswers()
    by_model: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as work:
        for number, speech_model in enumerate(args.speech_models):
            port = free_port()
            config = serving_config(args.config, speech_model, Path(work))
            with (Path(work) / f"{speech_model}.log").open("wb") as sink:
                process = start_service(
                    port, config=config, database_url=f"sqlite:///{work}/{number}.db", log=sink
                )
            try:
                url = f"http://127.0.0.1:{port}"
                client = Client(url)
                client.streamed_turn(client.start(), recorded[0])  # warm-up: first calls allocate
                streamed = sequential(client, recorded, spoken, args.turns, f"{speech_model} streamed")
                result = {
                    "streamed": summary(streamed),
                    "word_error_rate": word_error_rate(streamed, said | spoken.said),
                }
                if number == 0:  # the baseline and the load test, on the default model
                    whole = sequential(client, recorded, spoken, args.turns, "whole", mode="whole")
                    result["whole_turn_baseline"] = summary(whole)
                    result["first_audio_speedup_vs_whole_turn"] = round(
                        result["whole_turn_baseline"]["first_audio_p50_ms"]
                        / result["streamed"]["first_audio_p50_ms"],
                        2,
                    )
                    result["live"] = live_paths(client, recorded, spoken, args.turns, process.pid, streamed)
                    # load: the same clips as the sequential run, in a fixed order
                    clips = recorded + spoken.clips()
                    result["concurrency"] = [
                        concurrent(url, clips, n, args.turns_per_session) for n in args.concurrency
                    ]
                by_model[speech_model] = result
            finally:
                stop_service(process)
        # The same clips through other interviewers (first speech model): what the served
        # model's longer, specific turns cost against an interviewer of the same size.
        by_interviewer = {"configured": by_model[args.speech_models[0]]["streamed"]}
        others = [(i, None) for i in args.interviewers] + [(None, s) for s in args.settings]
        for interviewer, setting in others:
            config = serving_config(args.config, args.speech_models[0], Path(work), interviewer, setting)
            with warm_service(config, Path(work), recorded[0]) as (client, _):
                label = interviewer or f"configured, {setting}"
                by_interviewer[label] = summary(sequential(client, recorded, spoken, args.turns, label))
        # The live button path under other live settings (default: without drafts, which the
        # configuration runs), on the same clips, each in its own service.
        by_live_setting = {}
        for setting in args.live_settings:
            config = serving_config(args.config, args.speech_models[0], Path(work), setting=setting)
            with warm_service(config, Path(work), recorded[0]) as (client, pid):
                label = f"live (button), {setting}"
                button = sequential(client, recorded, spoken, args.turns, label, "live", pid)
                by_live_setting[setting] = live_button(button, spoken)
    report = {
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine()},
        "config": str(args.config),
        "clips": {
            "recorded": len(recorded),
            "piper_spoken_answers_to_the_question_asked": len(spoken.said),
        },
        "speech_models": by_model,
        "interviewers": by_interviewer,
        "live_button_under_settings": by_live_setting,
        "goal_first_audio_p50_ms": 1000,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
