"""Answer-scorer throughput on this machine's CPU cores (`make bench`).

Scores 512 distinct real answers (the 236 UA test answers, then other Mohler answers in id
order: no answer repeats, so no path gains from a repeat) in calls of 32, as a service gets
them, along two paths measured in the same run and reported as pairs/s (median of repeated
runs), beside the fp32 matmul GFLOP/s of this machine (the figures move with it):
  bi-encoder alone   the scorer as it was shipped before: the fine-tuned bi-encoder, each
                     call's distinct texts through all six layers, length-bucketed, cosine only
  stacked (shipped)  `AnswerScorer.score` end to end: request validation, the lower layers
                     once per answer (a question's and a reference's vectors are kept between
                     calls, as the service keeps them), the pretrained and the fine-tuned top
                     layer, TF-IDF, word overlap, graded-answer neighbours, the trees,
                     calibration, interval and the off-topic detector
Each path's agreement with the human scores on the test answers comes with it. Writes JSON.

    python bench/scorer_throughput.py [--model-dir models/scorer] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.stats import pearsonr

from mockmentor.scorer.network import SiameseScorer, predict_raw
from mockmentor.scorer.pairs import load_pairs
from mockmentor.scorer.scorer import AnswerScorer

BATCH = 32
PAIRS = 512
GOAL_PAIRS_PER_S = 200
# The scorer issue's bar, "keep >= 200 pairs/s (today 228)", as a share of the old scorer (the
# bi-encoder alone) measured in the same run: the absolute figure moves with the machine.
GOAL_SHARE_OF_BI_ENCODER = round(200 / 228, 3)


def matmul_gflops(size: int = 1024, repeats: int = 20) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2 * size**3 / statistics.median(times) / 1e9


def timed(run: Callable[[], np.ndarray], repeats: int) -> tuple[float, np.ndarray]:
    out = run()  # warm-up (and the predictions to compare)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=Path("models/scorer"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("bench/results/scorer_throughput.json"))
    args = parser.parse_args()
    torch.manual_seed(0)

    pairs = load_pairs(Path("data/processed"), Path("data/splits")).drop_duplicates("answer")
    test = pairs[pairs["split"] == "test"]
    rows = pd.concat([test, pairs[pairs["split"] != "test"].sort_index()]).head(PAIRS).reset_index(drop=True)
    is_test = (rows.index < len(test)).astype(bool)
    requests = rows[["question_id", "question", "reference", "answer"]].to_dict("records")
    scorer = AnswerScorer(args.model_dir)
    bi_encoder = SiameseScorer(scorer.encoders.encoders["tuned"]).eval()
    length = scorer.meta["recipe"]["max_length"]

    def cosine_only() -> np.ndarray:
        return np.concatenate(
            [
                predict_raw(
                    bi_encoder,
                    scorer.encoders.tokenizer,
                    rows.iloc[start : start + BATCH],
                    "siamese",
                    length,
                    BATCH,
                )
                for start in range(0, PAIRS, BATCH)
            ]
        )

    def stacked() -> np.ndarray:
        return np.array(
            [
                r.score
                for start in range(0, PAIRS, BATCH)
                for r in scorer.score(requests[start : start + BATCH])
            ]
        )

    gflops = matmul_gflops()
    results = {}
    human = rows["score"].to_numpy()[is_test]
    for name, run in {"bi-encoder alone (before)": cosine_only, "stacked (shipped)": stacked}.items():
        seconds, out = timed(run, args.repeats)
        results[name] = {
            "pairs_per_s": round(PAIRS / seconds, 1),
            "pearson_vs_human": round(float(pearsonr(human, out[is_test])[0]), 4),
        }
        figures = results[name]
        print(f"{name:28} {figures['pairs_per_s']:8.1f} pairs/s   r(human)={figures['pearson_vs_human']:.4f}")
    shipped = results["stacked (shipped)"]["pairs_per_s"]
    share = round(shipped / results["bi-encoder alone (before)"]["pairs_per_s"], 3)
    report = {
        "machine": {"cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads()},
        "batch": BATCH,
        "pairs": PAIRS,
        "repeats": args.repeats,
        "fp32_matmul_gflops": round(gflops, 1),
        "paths": results,
        "stacked_over_bi_encoder": share,
        "goal": {"pairs_per_s_at_least": GOAL_PAIRS_PER_S, "met": shipped >= GOAL_PAIRS_PER_S},
        "goal_same_run": {
            "share_of_bi_encoder_at_least": GOAL_SHARE_OF_BI_ENCODER,
            "met": share >= GOAL_SHARE_OF_BI_ENCODER,
        },
    }
    print(f"fp32 matmul: {gflops:.1f} GFLOP/s ({torch.get_num_threads()} threads)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
