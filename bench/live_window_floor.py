"""The live answer's encoder window floor, measured where it matters: the tail left at "done".

With drafts (live_answer.py), the segment still open when the candidate presses done is short,
so a floor below `window_floor_s` looks cheaper. Each clip is fed to `LiveAnswer` as the page
sends it (200 ms frames, in real time), once per floor, with the configured live settings
otherwise; then the answer ends and `finish` transcribes what is left. The same audio for every
floor: the recorded clips in data/raw/speech and real Mohler student answers spoken by Piper
(transcription_settings.clips). Reports per floor the time `finish` took (p50 / p95 / max), the
word error rate of the whole answer, and the loops the transcription guard caught. Writes JSON.

    python bench/live_window_floor.py [--answers 30] [--floors 10 5]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
from harness import REPO
from tqdm import tqdm
from transcription_settings import clips, figures

from mockmentor.model_assets import resolve
from mockmentor.serving.config import load_serve_config
from mockmentor.speech.live_answer import LiveAnswer, LiveAnswerConfig
from mockmentor.speech.pcm import SAMPLE_RATE
from mockmentor.speech.transcription import SpeechToText

FRAME = SAMPLE_RATE // 5  # 200 ms, as the page sends them


def answer_live(speech: SpeechToText, config: LiveAnswerConfig, audio: np.ndarray) -> tuple[str, float]:
    """The clip fed in real time, then finished: (transcript, seconds `finish` took)."""
    live = LiveAnswer(speech, config, max_seconds=len(audio) / SAMPLE_RATE + 5, can_end=lambda _: True)
    try:
        start = time.perf_counter()
        for number, at in enumerate(range(0, len(audio), FRAME), start=1):
            live.feed(audio[at : at + FRAME])
            time.sleep(max(0.0, start + number * FRAME / SAMPLE_RATE - time.perf_counter()))
        ended = time.perf_counter()
        text = live.finish().text
        return text, time.perf_counter() - ended
    finally:
        live.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--floors", type=float, nargs="+", default=[10.0, 5.0])
    parser.add_argument("--config", type=Path, default=REPO / "configs/serving.yaml")
    parser.add_argument("--output", type=Path, default=REPO / "bench/results/live_window_floor.json")
    args = parser.parse_args()

    serve = load_serve_config(args.config)
    speech = SpeechToText(resolve(serve.speech_model), serve.threads, serve.speech_beam_size)
    audio = clips(args.answers, args.seed)
    said = [text for _, text, _ in audio]
    by_floor = {}
    for floor in args.floors:
        config = dataclasses.replace(serve.live_answer, window_floor_s=floor)
        caught = speech.loops
        heard, seconds = [], []
        for _, _, samples in tqdm(audio, desc=f"floor {floor:g} s", unit="answer"):
            text, took = answer_live(speech, config, samples)
            heard.append(text)
            seconds.append(took)
        by_floor[f"{floor:g}"] = figures(said, heard, seconds) | {"loops_caught": speech.loops - caught}
        print(f"  floor {floor:g} s: {json.dumps(by_floor[f'{floor:g}'])}")
    report = {
        "speech_model": serve.speech_model,
        "threads": serve.threads,
        "configured_floor_s": serve.live_answer.window_floor_s,
        "draft_every_s": serve.live_answer.draft_every_s,
        "clips": {"recorded": sum(1 for n, _, _ in audio if not n.startswith("piper:")), "all": len(audio)},
        "finish_by_floor": by_floor,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
