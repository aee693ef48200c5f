"""Coding-round sandbox: time from Run to result, and runs per second one machine sustains (`make bench`).

Runs every HumanEval canonical solution against its tests (164 real problems, the mix a
coding round sends) along two paths measured in the same run:
  unsandboxed (baseline)  the same runner.py in a plain `python3 -I` subprocess: what running
                          the tests costs at all (never used for candidate code)
  sandboxed (served)      `Sandbox.run`: bubblewrap, namespaces, rlimits, its own user
Reported: the median and p95 seconds from Run to result (one run at a time), the runs per
second sustained with `concurrent_runs` runs at once (the service's setting), and the
sandbox's overhead as a ratio to the baseline. Writes JSON.

    python bench/sandbox_throughput.py [--problems data/coding/problems.jsonl]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tqdm import tqdm

from mockmentor.coding.problems import CodingProblem, load_problems
from mockmentor.coding.sandbox import RUNNER, Sandbox, load_sandbox_limits


def unsandboxed(problem: CodingProblem, python: str) -> bool:
    with tempfile.NamedTemporaryFile("w", suffix=".json") as task:
        json.dump(
            {"code": problem.reference_solution, "test": problem.test, "entry_point": problem.entry_point},
            task,
        )
        task.flush()
        read_end, write_end = os.pipe()
        process = subprocess.Popen(
            [python, "-I", str(RUNNER), str(write_end), task.name],
            pass_fds=(write_end,),
            stdout=subprocess.DEVNULL,
        )
        os.close(write_end)
        with os.fdopen(read_end) as events:
            done = '"done"' in events.read()
        process.wait()
    return done


def timed(
    run: Callable[[CodingProblem], bool], problems: list[CodingProblem], workers: int, label: str
) -> dict:
    latencies: list[float] = []

    def one(problem: CodingProblem) -> bool:
        start = time.perf_counter()
        ok = run(problem)
        latencies.append(time.perf_counter() - start)
        return ok

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        passed = sum(tqdm(pool.map(one, problems), total=len(problems), desc=label, leave=False))
    wall = time.perf_counter() - start
    return {"latencies": latencies, "runs_per_s": len(problems) / wall, "passed": passed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=Path, default=Path("data/coding/problems.jsonl"))
    parser.add_argument("--out", type=Path, default=Path("bench/results/sandbox.json"))
    args = parser.parse_args()
    problems = list(load_problems(args.problems).values())
    limits = load_sandbox_limits()
    sandbox = Sandbox(limits)
    sandbox.preflight()

    def served(problem: CodingProblem) -> bool:
        return sandbox.run(problem.reference_solution, problem.test, problem.entry_point).status == "passed"

    paths = {"unsandboxed (baseline)": lambda p: unsandboxed(p, limits.python), "sandboxed (served)": served}
    report: dict = {
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()},
        "problems": len(problems),
        "concurrent_runs": limits.concurrent_runs,
        "paths": {},
    }
    for name, run in paths.items():
        one_at_a_time = timed(run, problems, 1, f"{name}, one at a time")
        concurrent = timed(run, problems, limits.concurrent_runs, f"{name}, {limits.concurrent_runs} at once")
        seconds = sorted(one_at_a_time["latencies"])
        report["paths"][name] = {
            "run_to_result_p50_ms": round(statistics.median(seconds) * 1000, 1),
            "run_to_result_p95_ms": round(seconds[int(0.95 * (len(seconds) - 1))] * 1000, 1),
            "runs_per_s": round(concurrent["runs_per_s"], 1),
            "canonical_passed": concurrent["passed"],
        }
        figures = report["paths"][name]
        print(
            f"{name:24} p50 {figures['run_to_result_p50_ms']:7.1f} ms"
            f"   p95 {figures['run_to_result_p95_ms']:7.1f} ms"
            f"   {figures['runs_per_s']:6.1f} runs/s   {figures['canonical_passed']}/{len(problems)} passed"
        )
    base, served_figures = report["paths"]["unsandboxed (baseline)"], report["paths"]["sandboxed (served)"]
    report["sandbox_over_baseline"] = {
        "p50_latency": round(served_figures["run_to_result_p50_ms"] / base["run_to_result_p50_ms"], 2),
        "runs_per_s": round(served_figures["runs_per_s"] / base["runs_per_s"], 2),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
