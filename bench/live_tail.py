"""The tail the candidate waits for: what the live answer does after "done", in variants.

With drafts (live_answer.py) the segment still open when the answer ends is short, and the
candidate waits for it alone. Each clip is fed to `LiveAnswer` as the page sends it (200 ms
frames, in real time) once per variant, with the service's sentence-end model asking after each
finished segment (as `serving/answer_socket.py` does, against the fitted threshold); then the
answer ends and `finish` transcribes what is left. Variants, each the configured live settings
with one change:
  configured     configs/serving.yaml as served (`quick_tail: true`, `early_tail_s: 0.1`, 10 s
                 window floor)
  no_early_tail  `early_tail_s: 0`: the quick tail heard only after "done", not in the silence
                 between the last word and "done" (the clip's own trailing silence)
  full_tail      `quick_tail: false`: the tail aligned word by word, a second VAD pass over it,
                 and the sentence-end model asked after it too (two releases back)
  floor_5s     `window_floor_s: 5`
  tail_prompt_600  `tail_prompt_chars: 600`: the quick tail prompted with as much of what was said
                 before as every other decode (two releases back)
  no_last_draft  `keep_last_draft: false`: a draft still being decoded at "done" is dropped and
                 the tail heard from the last cut (the release before)
The same audio for every variant: the recorded clips in data/raw/speech and real Mohler student
answers spoken by Piper (transcription_settings.clips). Reports per variant the time `finish`
took (p50 / p95 / max), the word error rate of the whole answer, the loops the transcription
guard caught, and the speaking rate and long pauses delivery computes from the word times
(against the configured variant's). Writes JSON.

    python bench/live_tail.py [--answers 30] [--variants configured no_early_tail full_tail floor_5s
                              tail_prompt_600 no_last_draft]
                              [--done-after-s 0.2] [--output bench/results/live_tail.json]

`--done-after-s` feeds that much silence after each clip before Done: a candidate who stops and
then presses it, the case the early tail is for (the clips end on their last word).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from harness import REPO
from tqdm import tqdm
from transcription_settings import clips, figures

from mockmentor.interviewer.proven_gguf import proven_gguf
from mockmentor.model_assets import resolve
from mockmentor.serving.config import load_serve_config
from mockmentor.speech.delivery import delivery
from mockmentor.speech.end_of_turn import N_CTX, EndOfTurnRule, SentenceEnd
from mockmentor.speech.live_answer import LiveAnswer, LiveAnswerConfig
from mockmentor.speech.pcm import SAMPLE_RATE
from mockmentor.speech.transcription import SpeechToText, Transcript

FRAME = SAMPLE_RATE // 5  # 200 ms, as the page sends them
VARIANTS = {
    "configured": {},
    "no_early_tail": {"early_tail_s": 0.0},
    "full_tail": {"quick_tail": False, "early_tail_s": 0.0},
    "floor_5s": {"window_floor_s": 5.0},
    "tail_prompt_600": {"tail_prompt_chars": 600},
    "no_last_draft": {"keep_last_draft": False},
}


def answer_live(
    speech: SpeechToText, config: LiveAnswerConfig, audio: np.ndarray, can_end, done_after_s: float = 0.0
) -> tuple[Transcript, float]:
    """The clip fed in real time, then `done_after_s` of silence (the candidate reaching for Done),
    then finished: (transcript, seconds `finish` took)."""
    audio = np.concatenate([audio, np.zeros(int(done_after_s * SAMPLE_RATE), np.float32)])
    live = LiveAnswer(speech, config, max_seconds=len(audio) / SAMPLE_RATE + 5, can_end=can_end)
    try:
        start = time.perf_counter()
        for at in range(0, len(audio), FRAME):
            frame = audio[at : at + FRAME]
            # a frame reaches the service once it has been spoken, at its end
            time.sleep(max(0.0, start + (at + len(frame)) / SAMPLE_RATE - time.perf_counter()))
            live.feed(frame)
        ended = time.perf_counter()
        heard = live.finish()
        return heard, time.perf_counter() - ended
    finally:
        live.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--done-after-s", type=float, default=0.0,
        help="silence fed after each clip before Done (0: Done at the clip's end)",
    )  # fmt: skip
    parser.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--config", type=Path, default=REPO / "configs/serving.yaml")
    parser.add_argument("--output", type=Path, default=REPO / "bench/results/live_tail.json")
    args = parser.parse_args()

    serve = load_serve_config(args.config)
    speech = SpeechToText(resolve(serve.speech_model), serve.threads, serve.speech_beam_size)
    rule = EndOfTurnRule.load(serve.live_answer.end_of_turn_rule)
    sentence_end = SentenceEnd(resolve(rule.model), proven_gguf(rule.model, N_CTX), threads=1)
    questions = pd.read_parquet(REPO / "data/processed/questions.parquet").set_index("id")["text"]
    audio = clips(args.answers, args.seed)
    said = [text for _, text, _ in audio]
    by_variant, paces = {}, {}
    for name in args.variants:
        config = dataclasses.replace(serve.live_answer, **VARIANTS[name])
        caught = speech.loops
        heard, seconds, pace, pauses = [], [], [], 0
        for clip, _, samples in tqdm(audio, desc=name, unit="answer"):
            # a Piper clip is a Mohler answer ("piper:mohler-8.6.7" answers question 8.6)
            question = questions.get(clip.removeprefix("piper:mohler-").rsplit(".", 1)[0], "")
            transcript, took = answer_live(
                speech,
                config,
                samples,
                lambda text, q=question: sentence_end.log_probability(q, text) >= rule.threshold,
                args.done_after_s,
            )
            figures_of = delivery(transcript.text, transcript.words, serve.fillers, serve.pause_seconds)
            heard.append(transcript.text)
            seconds.append(took)
            pace.append(figures_of.words_per_minute or 0.0)
            pauses += figures_of.long_pauses
        paces[name] = np.array(pace)
        by_variant[name] = figures(said, heard, seconds) | {
            "loops_caught": speech.loops - caught,
            "words_per_minute_p50": round(float(np.median(pace)), 1),
            "long_pauses": pauses,
        }
        print(f"  {name}: {json.dumps(by_variant[name])}")
    if "configured" in paces:
        for name, pace in paces.items():
            share = np.abs(pace - paces["configured"]) / np.maximum(paces["configured"], 1.0)
            by_variant[name]["pace_change_vs_configured_p95"] = round(float(np.percentile(share, 95)), 4)
    report = {
        "speech_model": serve.speech_model,
        "threads": serve.threads,
        "configured": {
            "window_floor_s": serve.live_answer.window_floor_s,
            "quick_tail": serve.live_answer.quick_tail,
            "draft_every_s": serve.live_answer.draft_every_s,
            "early_tail_s": serve.live_answer.early_tail_s,
            "tail_prompt_chars": serve.live_answer.tail_prompt_chars,
            "keep_last_draft": serve.live_answer.keep_last_draft,
        },
        "done_after_s": args.done_after_s,
        "sentence_end": f"{rule.model} (log P(end) >= {rule.threshold:.2f}), 1 thread",
        "clips": {"recorded": sum(1 for n, _, _ in audio if not n.startswith("piper:")), "all": len(audio)},
        "finish_by_variant": by_variant,
    }
    for baseline in ("no_early_tail", "full_tail", "tail_prompt_600", "no_last_draft"):
        if {"configured", baseline} <= by_variant.keys():
            report[f"configured_over_{baseline}"] = {
                key: round(by_variant["configured"][key] / by_variant[baseline][key], 3)
                for key in ("p50_s", "p95_s", "max_s")
            }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
