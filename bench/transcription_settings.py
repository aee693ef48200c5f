"""Whisper's temperature fallback, on and off, in one run on the same audio (`make bench`).

faster-whisper decodes greedily, and when the text looks repetitive (compression ratio above
2.4) or unsure (mean log-probability below -1), decodes the same audio again at temperatures
0.2, 0.4 ... 1.0 (`speech_fallback: true`); each retry can run to the decoder's token limit.
Both are timed for the two ways the service transcribes:
  upload  the whole answer in Whisper's 30 s window (/answer_audio, /answer_audio_stream)
  live    the whole answer in the encoder window the live path uses: its length, at least
          `window_floor_s` (the window its last segment gets when the answer ends)
The clips: the recorded ones in data/raw/speech, and real Mohler student answers of 8-40
words (a seeded draw) spoken by the project's Piper voice. Reports the word error rate against
what was said, p50 / p95 / max seconds per clip, and the configured setting's times over the
other's. Writes JSON.

    python bench/transcription_settings.py [--answers 40] [--speech-model whisper-base]
                                           [--question mohler-6.6] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jiwer
import numpy as np
import yaml
from harness import REPO, SPEECH, candidate_voice, decoded, pcm, plain, speakable_answers, transcripts
from tqdm import tqdm

from mockmentor.model_assets import resolve
from mockmentor.speech.pcm import SAMPLE_RATE
from mockmentor.speech.transcription import SpeechToText


def clips(answers: int, seed: int, question: str | None = None) -> list[tuple[str, str, np.ndarray]]:
    """(name, what is said, 16 kHz samples): the recorded clips, then spoken student answers (a
    seeded draw, or every answer to `question`, without the recorded clips)."""
    if question is None:
        said = transcripts()
        recorded = [(name, said[name], decoded(name)) for name in sorted(said) if (SPEECH / name).exists()]
        drawn = speakable_answers().sample(answers, random_state=seed)
    else:
        recorded, drawn = [], speakable_answers().query("question_id == @question")
    voice = candidate_voice(threads=2)
    spoken = [
        (f"piper:{r.id}", r.text, pcm(voice.wav(r.text)))
        for r in tqdm(drawn.itertuples(), total=len(drawn), desc="speaking answers", unit="answer")
    ]
    return recorded + spoken


def figures(said: list[str], heard: list[str], seconds: list[float]) -> dict:
    times = np.array(seconds)
    return {
        "word_error_rate": round(float(jiwer.wer([plain(s) for s in said], [plain(h) for h in heard])), 4),
        "p50_s": round(float(np.median(times)), 3),
        "p95_s": round(float(np.percentile(times, 95)), 3),
        "max_s": round(float(times.max()), 3),
    }


def compare(said: list[str], runs: dict[str, tuple[list[str], list[float]]], configured: str) -> dict:
    """Each variant's figures, and the configured one's times over the other's."""
    out = {name: figures(said, heard, seconds) for name, (heard, seconds) in runs.items()}
    other = next(name for name in runs if name != configured)
    out[f"{configured}_over_{other}"] = {
        key: round(out[configured][key] / out[other][key], 3) for key in ("p50_s", "p95_s", "max_s")
    }
    for name in runs:
        figs = out[name]
        print(
            f"  {name:34} WER {figs['word_error_rate']:.3f}  p50 {figs['p50_s']:.3f} s  "
            f"p95 {figs['p95_s']:.3f} s  max {figs['max_s']:.3f} s"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--speech-model", default="whisper-base")
    parser.add_argument(
        "--question", help="speak every answer to this question instead (e.g. mohler-6.6, lists)"
    )
    parser.add_argument("--config", type=Path, default=REPO / "configs/serving.yaml")
    parser.add_argument("--out", type=Path, default=REPO / "bench/results/transcription_settings.json")
    args = parser.parse_args()
    serve = yaml.safe_load(args.config.read_text())["serve"]
    floor = float(serve["live_answer"]["window_floor_s"])
    threads, beam = int(serve["threads"]), int(serve["speech_beam_size"])

    audio = clips(args.answers, args.seed, args.question)
    said = [text for _, text, _ in audio]
    speech = {
        fallback: SpeechToText(resolve(args.speech_model), threads, beam, fallback=fallback)
        for fallback in (False, True)
    }
    speech[False].transcribe(audio[0][2])  # warm-up

    # Clip by clip, each variant in turn: a slower minute of the machine touches all of them.
    windows = {"upload": None, "live": floor}
    decoding: dict[tuple[str, bool], tuple[list[str], list[float]]] = {}
    for _, _, samples in tqdm(audio, desc="fallback on and off", unit="clip"):
        for path, window in windows.items():
            for fallback, model in speech.items():
                start = time.perf_counter()
                text = model.transcribe(samples, window_s=window).text
                seconds = time.perf_counter() - start
                heard, times = decoding.setdefault((path, fallback), ([], []))
                heard.append(text)
                times.append(seconds)

    configured_fallback = bool(serve["speech_fallback"])
    report: dict = {
        "speech_model": args.speech_model,
        "threads": threads,
        "clips": {
            "recorded": sum(not name.startswith("piper:") for name, _, _ in audio),
            "piper_spoken_answers": sum(name.startswith("piper:") for name, _, _ in audio),
            "question": args.question,
            "median_seconds": round(float(np.median([len(s) / SAMPLE_RATE for _, _, s in audio])), 2),
        },
        "live_window_floor_s": floor,
        "speech_fallback": configured_fallback,
        "fallback": {},
    }
    label = {False: "no_fallback", True: "fallback"}
    # transcripts the guard decoded again: loops, and windowed ones that skipped words
    report["guard"] = {label[f]: {"loops": m.loops, "skips": m.skips} for f, m in speech.items()}
    for path in windows:
        print(f"{path}: whole answer, seconds to transcribe")
        runs = {label[f]: decoding[(path, f)] for f in (configured_fallback, not configured_fallback)}
        report["fallback"][path] = compare(said, runs, label[configured_fallback])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
