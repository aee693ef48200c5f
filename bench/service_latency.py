"""Voice-turn latency and throughput of the running service (`make bench`).

Starts the service exactly as `make run` does (the pipeline's champion scorer and tuned
interviewer, Whisper base int8, Piper) on loopback with a throw-away SQLite database, then
answers with real speech: the recorded clips in data/raw/speech and real student answers
from the Mohler set (held-out eval questions) spoken by Piper. Per turn it records, on the
client, end of upload -> first audio byte of the reply (first `sentence` event of the
streaming endpoint) and -> the audio of the next question (the reply's last sentence),
plus the service's own per-stage timings. The baseline measured in the same run is the
whole-turn endpoint (/answer_audio), whose first audio byte arrives with the whole turn.

    python bench/service_latency.py [--turns 24] [--concurrency 4 16] [--speech-models whisper-base ...]

Every speech model is measured (latency and word error rate on the same clips); the whole-turn
baseline and the concurrency runs use the first one (the default in configs/serving.yaml).

Writes bench/results/service_latency.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import tempfile
import threading
import time
from pathlib import Path

import httpx
import jiwer
import numpy as np
import pandas as pd
import yaml
from harness import SPEECH, transcripts
from tqdm import tqdm

from mockmentor.model_assets import resolve
from mockmentor.serving.process import free_port, start_service, stop_service
from mockmentor.speech.synthesis import PiperTextToSpeech

REPO = Path(__file__).resolve().parent.parent
STAGES = ["decode", "speech_to_text", "score", "interviewer_first_sentence", "tts_first_sentence"]


def answer_clips(count: int) -> tuple[list[tuple[str, bytes]], dict[str, str]]:
    """Recorded clips first, then Piper speaking real student answers (8-40 words); and what each says."""
    said = transcripts()
    clips = [(p.name, p.read_bytes()) for p in sorted(SPEECH.glob("*.*")) if p.suffix in (".wav", ".flac")]
    answers = pd.read_parquet(REPO / "data/processed/answers.parquet")
    words = answers["text"].str.split().str.len()
    picked = answers[(words >= 8) & (words <= 40)].sample(n=max(0, count - len(clips)), random_state=0)
    voice = PiperTextToSpeech(resolve("piper-voice"), threads=os.cpu_count() or 2)
    clips += [(f"piper:{row.id}", voice.wav(row.text)) for row in picked.itertuples()]
    said |= {f"piper:{row.id}": row.text for row in picked.itertuples()}
    return clips[:count], said


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
            "reply_source": turn["reply_source"],
            "busy_answers": busy,
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
        }


def sequential(client: Client, clips: list[tuple[str, bytes]], label: str, stream: bool = True) -> list[dict]:
    """One candidate at a time; a new session whenever an interview finishes."""
    results, session = [], client.start()
    for clip in tqdm(clips, desc=f"{label} turns", unit="turn"):
        result = client.streamed_turn(session, clip) if stream else client.whole_turn(session, clip)
        results.append(result)
        if result["finished"]:
            session = client.start()
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


def word_error_rate(results: list[dict], said: dict[str, str]) -> float:
    """Corpus WER of the transcripts against what each clip says (lower-cased, no punctuation)."""

    def norm(text: str) -> str:
        return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split())

    return round(
        jiwer.wer([norm(said[r["clip"]]) for r in results], [norm(r["transcript"]) for r in results]), 4
    )


def serving_config(base: Path, speech_model: str, folder: Path) -> Path:
    config = yaml.safe_load(base.read_text())
    config["serve"]["speech_model"] = speech_model
    path = folder / f"serving-{speech_model}.yaml"
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
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--turns", type=int, default=24)
    parser.add_argument("--concurrency", type=int, nargs="*", default=[4, 16])
    parser.add_argument("--turns-per-session", type=int, default=2)
    parser.add_argument("--config", type=Path, default=REPO / "configs/serving.yaml")
    parser.add_argument("--speech-models", nargs="+", default=["whisper-base", "whisper-tiny-en"])
    parser.add_argument("--output", type=Path, default=REPO / "bench/results/service_latency.json")
    args = parser.parse_args()

    clips, said = answer_clips(args.turns)
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
                client.streamed_turn(client.start(), clips[0])  # warm-up: first calls allocate
                streamed = sequential(client, clips, f"{speech_model} streamed")
                result = {"streamed": summary(streamed), "word_error_rate": word_error_rate(streamed, said)}
                if number == 0:  # the baseline and the load test, on the default model
                    result["whole_turn_baseline"] = summary(sequential(client, clips, "whole", stream=False))
                    result["first_audio_speedup_vs_whole_turn"] = round(
                        result["whole_turn_baseline"]["first_audio_p50_ms"]
                        / result["streamed"]["first_audio_p50_ms"],
                        2,
                    )
                    result["concurrency"] = [
                        concurrent(url, clips, n, args.turns_per_session) for n in args.concurrency
                    ]
                by_model[speech_model] = result
            finally:
                stop_service(process)
    report = {
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine()},
        "config": str(args.config),
        "clips": {
            "recorded": sum(not c[0].startswith("piper:") for c in clips),
            "piper_spoken_answers": sum(c[0].startswith("piper:") for c in clips),
        },
        "speech_models": by_model,
        "goal_first_audio_p50_ms": 1000,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
