"""Answer-scorer throughput on this machine's CPU cores (`make bench`).

Scores real pairs (the UA test answers, repeated to 512) at batch 32 along several paths
and reports pairs/s as the median of repeated runs, beside the fp32 matmul GFLOP/s
measured in the same run (how close a path runs to the machine's arithmetic peak) and
each path's agreement with the fp32 model and with the human scores. Writes JSON.

    python bench/scorer_throughput.py [--model-dir models/scorer] [--repeats 5]
"""

from __future__ import annotations

import argparse
import copy
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

from mockmentor.scorer.network import predict_raw
from mockmentor.scorer.pairs import load_pairs
from mockmentor.scorer.scorer import AnswerScorer, quantize_lower_layers

BATCH = 32
PAIRS = 512


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
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("bench/results/scorer_throughput.json"))
    args = parser.parse_args()
    torch.manual_seed(0)

    pairs = load_pairs(Path("data/processed"), Path("data/splits"))
    test = pairs[pairs["split"] == "test"]
    rows = pd.concat([test] * (PAIRS // len(test) + 1)).head(PAIRS).reset_index(drop=True)
    scorer = AnswerScorer(args.model_dir)
    int8_all = quantize_lower_layers(copy.deepcopy(scorer.model), 6)
    int8_lower = quantize_lower_layers(copy.deepcopy(scorer.model), 3)
    arch, length = scorer.architecture, scorer.max_length

    def path(
        model: torch.nn.Module, bucket: bool, pad: bool, distinct: bool = True, bf16: bool = False
    ) -> Callable[[], np.ndarray]:
        def run() -> np.ndarray:
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                return predict_raw(
                    model,
                    scorer.tokenizer,
                    rows,
                    arch,
                    length,
                    BATCH,
                    bucket=bucket,
                    pad_to_max=pad,
                    distinct_texts=distinct,
                )

        return run

    paths = {
        f"fp32 eager, every pair, padded to {length}": path(
            scorer.model, bucket=False, pad=True, distinct=False
        ),
        "fp32 eager, every pair, padded to batch longest": path(scorer.model, False, False, distinct=False),
        "fp32 eager, every pair, length-bucketed": path(scorer.model, True, False, distinct=False),
        "fp32 eager, distinct texts, length-bucketed": path(scorer.model, True, False),
        "bf16 autocast, distinct texts, length-bucketed": path(scorer.model, True, False, bf16=True),
        "int8 dynamic (all 6 layers), distinct texts, length-bucketed": path(int8_all, True, False),
        "int8 dynamic (layers 1-3), distinct texts, length-bucketed": path(int8_lower, True, False),
    }
    gflops = matmul_gflops()
    results, reference = {}, None
    human = rows["score"].to_numpy()
    for name, run in paths.items():
        seconds, raw = timed(run, args.repeats)
        reference = raw if reference is None else reference
        score = scorer.calibration.score(raw)
        results[name] = {
            "pairs_per_s": round(PAIRS / seconds, 1),
            "pearson_vs_human": round(float(pearsonr(human, score)[0]), 4),
            "pearson_vs_fp32": round(float(pearsonr(reference, raw)[0]), 5),
            "max_abs_score_diff_vs_fp32": round(
                float(np.max(np.abs(score - scorer.calibration.score(reference)))), 4
            ),
        }
        result = results[name]
        print(
            f"{name:40} {result['pairs_per_s']:8.1f} pairs/s   r(human)={result['pearson_vs_human']:.4f}"
            f"   r(fp32)={result['pearson_vs_fp32']:.5f}"
        )
    baseline = next(iter(results.values()))["pairs_per_s"]
    for result in results.values():
        result["speedup_vs_baseline"] = round(result["pairs_per_s"] / baseline, 2)
    report = {
        "machine": {"cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads()},
        "architecture": arch,
        "batch": BATCH,
        "pairs": PAIRS,
        "repeats": args.repeats,
        "fp32_matmul_gflops": round(gflops, 1),
        "paths": results,
    }
    print(f"fp32 matmul: {gflops:.1f} GFLOP/s ({torch.get_num_threads()} threads)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
