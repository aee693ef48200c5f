"""Hostile input against the running service, on loopback only (`make fuzz`).

1. A corpus of malformed audio, built here from the real clips in data/raw/speech:
   truncations, zero-length files, wrong magic bytes, huge and lying headers, 0-sample and
   8-hour WAVs, random bytes (bare and behind each accepted magic), valid containers with
   their codec payload scrambled, and decompression bombs (hours of silence in a few KB).
   Each is uploaded as an answer; the service must answer 4xx (or 200 if it really is
   speech), never 5xx, and stay up.
2. schemathesis over the whole OpenAPI (`not_a_server_error`), at least 500 generated cases.

Reports counts per status, 5xx responses, worker restarts and the service's peak memory, and
writes bench/results/fuzz.json. Bounded: a fixed corpus and a fixed number of cases.

    python bench/fuzz_service.py [--cases-per-operation 60]
"""

from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
import wave
from collections import Counter
from pathlib import Path

import av
import httpx
import numpy as np
import psutil
from harness import encoded
from tqdm import tqdm

from mockmentor.serving.process import free_port, start_service, stop_service
from mockmentor.speech.pcm import wav_bytes

REPO = Path(__file__).resolve().parent.parent
MAGIC = [b"RIFF", b"fLaC", b"OggS", b"\x1a\x45\xdf\xa3", b"ID3\x03"]


def corpus() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    speech = REPO / "data/raw/speech"
    clips = {p.name: p.read_bytes() for p in sorted(speech.glob("*.*")) if p.suffix in (".wav", ".flac")}
    with wave.open(str(speech / "LJ001-0004.wav")) as source:
        voice = np.frombuffer(source.readframes(source.getnframes()), "<i2").astype(np.float32) / 32768
    cases: dict[str, bytes] = {"zero-length": b""}
    for name, data in clips.items():
        for fraction in (0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 0.99, 0.999):
            cases[f"truncated {fraction:g} {name}"] = data[: max(1, int(len(data) * fraction))]
        for magic in MAGIC:
            cases[f"magic {magic!r} on {name}"] = magic + data[4:]
        cases[f"random magic {name}"] = rng.bytes(4) + data[4:]
    header = bytearray(clips["LJ001-0001.wav"][:44])
    body = clips["LJ001-0001.wav"][44:]
    for claim in (0, 1, 2**16, 2**24, 2**31 - 1, 2**32 - 1):
        lying = bytearray(header)
        lying[40:44] = claim.to_bytes(4, "little")  # data chunk size
        cases[f"wav data size claims {claim}"] = bytes(lying) + body
        lying = bytearray(header)
        lying[16:20] = claim.to_bytes(4, "little")  # fmt chunk size
        cases[f"wav fmt size claims {claim}"] = bytes(lying) + body
    for rate in (8_000, 16_000, 22_050, 44_100, 48_000):
        cases[f"0-sample wav {rate} Hz"] = wav_bytes(np.zeros(0), rate)
        eight_hours = bytearray(wav_bytes(voice, rate))
        eight_hours[40:44] = (8 * 3600 * rate * 2).to_bytes(4, "little")
        cases[f"8-hour-claimed wav {rate} Hz"] = bytes(eight_hours)
    cases["wav with 1 MB LIST chunk"] = (
        header[:12] + b"LIST" + (2**20).to_bytes(4, "little") + bytes(2**20) + header[12:] + body
    )
    for size in (1, 3, 4, 16, 44, 100, 1_000, 10_000, 100_000, 1_000_000):
        for n in range(4):
            cases[f"random {size} bytes #{n}"] = rng.bytes(size)
            cases[f"{MAGIC[n % len(MAGIC)]!r} + random {size} bytes"] = MAGIC[n % len(MAGIC)] + rng.bytes(
                size
            )
    for container, codec in (
        ("webm", "libopus"),
        ("ogg", "libopus"),
        ("mp3", "libmp3lame"),
        ("flac", "flac"),
    ):
        good = encoded(voice, container, codec, 48_000 if "opus" in codec else 16_000)
        for n in range(8):
            scrambled = bytearray(good)
            start = len(good) // 4 + n * len(good) // 16
            scrambled[start : start + 512] = rng.bytes(min(512, len(good) - start))
            cases[f"{container} with scrambled payload #{n}"] = bytes(scrambled)
    for hours in (1, 3, 8):  # hours of digital silence compress to a few KB
        cases[f"flac bomb: {hours} h of silence"] = _silence_flac(hours)
    return {name: bytes(data) for name, data in cases.items()}


def _silence_flac(hours: int) -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="flac") as out:
        stream = out.add_stream("flac", rate=16_000, layout="mono")
        minute = av.AudioFrame.from_ndarray(np.zeros((1, 16_000 * 60), np.int16), format="s16", layout="mono")
        minute.sample_rate = 16_000
        for n in range(hours * 60):
            minute.pts = n * 16_000 * 60
            for packet in stream.encode(minute):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()


class MemoryWatch(threading.Thread):
    """Peak resident memory of the service's whole process tree, sampled every 100 ms."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.root, self.peak, self.stop = psutil.Process(pid), 0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                tree = [self.root, *self.root.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in tree))
            except psutil.Error:
                pass
            time.sleep(0.1)


def workers(pid: int) -> set[int]:
    return {p.pid for p in psutil.Process(pid).children(recursive=True)}


def upload_corpus(url: str, cases: dict[str, bytes]) -> dict:
    http = httpx.Client(base_url=url, timeout=300)
    statuses: Counter[int] = Counter()
    server_errors = []
    session = None
    for name, data in tqdm(cases.items(), desc="malformed audio", unit="file"):
        if session is None:
            session = http.post("/start_session", json={"role": "Software engineer"}).json()
        auth = {"session_id": session["session_id"], "session_token": session["session_token"]}
        response = http.post("/answer_audio", data=auth, files={"audio": ("answer", data, "audio/wav")})
        statuses[response.status_code] += 1
        if response.status_code >= 500:
            server_errors.append({"case": name, "status": response.status_code, "body": response.text[:200]})
        if response.status_code == 200:
            session = None  # it was speech after all: the session moved on; start afresh
    return {"cases": len(cases), "by_status": dict(sorted(statuses.items())), "server_errors": server_errors}


def run_schemathesis(url: str, per_operation: int) -> dict:
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{url}/docs.json",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        str(per_operation),
        "--phases",
        "examples,coverage,fuzzing",
        "--seed",
        "0",
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    output = result.stdout + result.stderr
    generated = re.search(r"(\d+) generated", output)
    failures = re.search(r"(\d+) found (\d+) unique failures?", output)
    return {
        "generated_cases": int(generated.group(1)) if generated else 0,
        "unique_failures": int(failures.group(2)) if failures else 0,
        "exit_code": result.returncode,
        "summary": output[-1500:],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases-per-operation", type=int, default=60)
    parser.add_argument("--config", type=Path, default=REPO / "configs/serving.yaml")
    parser.add_argument("--output", type=Path, default=REPO / "bench/results/fuzz.json")
    args = parser.parse_args()

    cases = corpus()
    port = free_port()
    with tempfile.TemporaryDirectory() as work:
        with (Path(work) / "service.log").open("wb") as sink:
            process = start_service(
                port, config=args.config, database_url=f"sqlite:///{work}/fuzz.db", log=sink
            )
        url = f"http://127.0.0.1:{port}"
        before = workers(process.pid)
        watch = MemoryWatch(process.pid)
        watch.start()
        try:
            audio = upload_corpus(url, cases)
            api = run_schemathesis(url, args.cases_per_operation)
            alive = httpx.post(f"{url}/healthz", timeout=30).status_code == 200
            restarted = len(before - workers(process.pid))
        finally:
            watch.stop.set()
            stop_service(process)
    report = {
        "malformed_audio": audio,
        "schemathesis": api,
        "service_alive_after": alive,
        "worker_processes_replaced": restarted,
        "peak_memory_mb": round(watch.peak / 2**20),
        "goals": {"server_errors": 0, "worker_crashes": 0, "schemathesis_cases_at_least": 500},
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(
        json.dumps(
            {k: v for k, v in report.items() if k != "schemathesis"}
            | {"schemathesis": {k: v for k, v in api.items() if k != "summary"}},
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
