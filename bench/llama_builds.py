"""The portable llama.cpp build against native builds, on this machine (`make bench`).

Three builds of llama-cpp-python, each measured in its own child process on the shipped
interviewer GGUF with the same real prompts (data/dialogues/eval.jsonl), rounds interleaved:
  portable             what `make` installs: GGML_NATIVE=OFF, the instruction sets this CPU
                       proves it runs, never AMX (mockmentor/interviewer/llama_build.py)
  native without AMX   -march=native with AMX switched off: what the portable build must
                       match on a CPU without AMX (the issue's bound: at most 10 % slower)
  native               pip's default build (-march=native, AMX kernels where the CPU reports AMX)
A build whose child dies (SIGILL on a VM that reports AMX it cannot run) is reported as such.
Native wheels are built once (about 5 minutes each) and cached beside the portable one.

    python bench/llama_builds.py [--model models/interviewer/interviewer.gguf] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from mockmentor.interviewer import llama_build
from mockmentor.interviewer.decoding import MAX_NEW_TOKENS, N_CTX, InterviewerFiles, prompt_ids
from mockmentor.interviewer.preflight import cpu_flags, describe_exit

NO_AMX = "-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
BUILDS = {
    "portable": (llama_build.cmake_args(llama_build.selected_extensions("auto")), ""),
    "native without AMX": (
        "-DGGML_NATIVE=ON -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF",
        NO_AMX,
    ),
    "native": ("", ""),
}
CHILD_TIMEOUT_S = 600


def install(name: str, args: str, cflags: str, root: Path) -> Path:
    """The build's wheel unpacked into its own folder, to put first on a child's PYTHONPATH."""
    wheel = llama_build.build_wheel(sys.executable, args, cflags=cflags)
    target = root / wheel.parent.name
    if not (target / "llama_cpp").is_dir():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
            check=True,
        )
    return target


def child(model: Path, prompts_file: Path, threads: int) -> None:
    """Runs under one build: time to first token and decode speed per prompt, as JSON."""
    import llama_cpp

    prompts = json.loads(prompts_file.read_text())
    llama = llama_cpp.Llama(
        model_path=str(model), n_ctx=N_CTX, n_threads=threads, n_threads_batch=threads, verbose=False
    )
    end = llama.token_eos()
    results = []
    for prompt in [prompts[0], *prompts]:  # the first is a warm-up
        started = time.perf_counter()
        first, tokens = None, 0
        for token in llama.generate(prompt, top_k=1, top_p=1.0, temp=0.0, repeat_penalty=1.0, reset=True):
            first = first or time.perf_counter()
            tokens += 1
            if token == end or tokens >= MAX_NEW_TOKENS:
                break
        finished = time.perf_counter()
        results.append(
            {
                "prompt_tokens": len(prompt),
                "ttft_ms": (first - started) * 1000,
                "decode_tok_s": (tokens - 1) / max(finished - first, 1e-9) if tokens > 1 else None,
            }
        )
    print(json.dumps(results[1:]))


def measure(target: Path, model: Path, prompts_file: Path, threads: int) -> list[dict] | str:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(target), os.environ.get("PYTHONPATH", "")]))
    command = [
        sys.executable,
        __file__,
        "--child",
        "--model",
        str(model),
        "--prompts-file",
        str(prompts_file),
    ]
    try:
        run = subprocess.run(
            [*command, "--threads", str(threads)], env=env, capture_output=True, timeout=CHILD_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        return describe_exit(None, CHILD_TIMEOUT_S)
    if run.returncode != 0:
        return describe_exit(run.returncode, CHILD_TIMEOUT_S)
    return json.loads(run.stdout.decode().splitlines()[-1])


def median(rows: list[dict], key: str, long: bool) -> float | None:
    values = [r[key] for r in rows if r[key] is not None and (r["prompt_tokens"] > 1000) == long]
    return round(statistics.median(values), 1) if values else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=Path("models/interviewer"))
    parser.add_argument("--dialogues", type=Path, default=Path("data/dialogues/eval.jsonl"))
    parser.add_argument("--prompts", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--builds-dir", type=Path, default=Path(".cache/llama-builds"))
    parser.add_argument("--out", type=Path, default=Path("bench/results/llama_builds.json"))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model", type=Path)
    parser.add_argument("--prompts-file", type=Path)
    args = parser.parse_args()
    if args.child:
        child(args.model, args.prompts_file, args.threads)
        return

    files = InterviewerFiles.tuned(args.model_dir)
    from mockmentor.interviewer.decoding import load_tokenizer

    tokenizer = load_tokenizer(files.base_dir)
    lines = args.dialogues.read_text().splitlines()[: args.prompts]
    prompts = [prompt_ids(tokenizer, json.loads(line)["messages"]) for line in lines]
    # Plus the longest prompt the interviewer can send: the one that died of SIGILL on AMX VMs.
    prompts.append((prompts[0] * (N_CTX // len(prompts[0]) + 1))[: N_CTX - MAX_NEW_TOKENS])
    args.builds_dir.mkdir(parents=True, exist_ok=True)
    prompts_file = args.builds_dir / "prompts.json"
    prompts_file.write_text(json.dumps(prompts))

    targets = {name: install(name, a, c, args.builds_dir) for name, (a, c) in BUILDS.items()}
    rows: dict[str, list[dict]] = {name: [] for name in BUILDS}
    failures: dict[str, str] = {}
    for round_ in range(args.rounds):  # interleaved, so drift in the machine's speed hits every build
        for name, target in targets.items():
            if name in failures:
                continue
            result = measure(target, files.gguf, prompts_file, args.threads)
            if isinstance(result, str):
                failures[name] = result
                print(f"round {round_ + 1}: {name:20} FAILED: {result}")
                continue
            rows[name] += result
            print(f"round {round_ + 1}: {name:20} done")

    builds = {}
    for name, (cmake, cflags) in BUILDS.items():
        figures = {
            "cmake_args": cmake or "(pip default)",
            "cflags": cflags,
            "failed": failures.get(name),
            "ttft_ms": median(rows[name], "ttft_ms", long=False),
            "decode_tok_s": median(rows[name], "decode_tok_s", long=False),
            "ttft_ms_longest_prompt": median(rows[name], "ttft_ms", long=True),
        }
        builds[name] = figures
        print(
            f"{name:20} ttft {figures['ttft_ms']} ms  decode {figures['decode_tok_s']} tok/s  "
            f"longest-prompt ttft {figures['ttft_ms_longest_prompt']} ms"
            + (f"  FAILED: {figures['failed']}" if figures["failed"] else "")
        )

    def ratio(key: str, baseline: str) -> float | None:
        a, b = builds["portable"][key], builds[baseline][key]
        return round(a / b, 3) if a and b else None

    ratios = {
        baseline: {key: ratio(key, baseline) for key in ("decode_tok_s", "ttft_ms", "ttft_ms_longest_prompt")}
        for baseline in ("native without AMX", "native")
    }
    decode_ratio = ratios["native without AMX"]["decode_tok_s"]
    report = {
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine()},
        "cpu_flags": cpu_flags(),
        "model": str(files.gguf),
        "threads": args.threads,
        "prompts": len(prompts) - 1,
        "longest_prompt_tokens": len(prompts[-1]),
        "rounds": args.rounds,
        "builds": builds,
        "portable_over": ratios,
        "goal": {
            "decode_ratio_vs_native_without_amx_at_least": 0.9,
            "met": bool(decode_ratio and decode_ratio >= 0.9),
        },
    }
    print(json.dumps(report["portable_over"], indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
