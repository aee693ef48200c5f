"""Interviewer decoding speed on this machine's CPU cores (`make bench`).

Streams greedy replies to real held-out prompts (data/dialogues/eval.jsonl) along every
generation path in one run and reports, as medians over the prompts:
  ttft_ms          call -> first text piece (templating, prefill and the first token)
  decode_tok_s     tokens after the first / time after the first
  overall_tok_s    all tokens / whole call (prefill included)
  agreement        share of replies identical to the transformers fp32 reference
The transformers path and the packaged base GGUF are the baselines measured beside the
tuned GGUF paths; F16/Q4_1 variants of the tuned model are exported here for comparison.

    python bench/interviewer_speed.py [--model-dir models/interviewer] [--prompts 12]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from mockmentor.interviewer.decoding import Interviewer, InterviewerFiles
from mockmentor.interviewer.gguf_export import export_gguf, merged_lora_weights
from mockmentor.interviewer.lora import load_base


def measure(interviewer: Interviewer, prompts: list[list[dict]]) -> tuple[dict, list[str]]:
    interviewer.reply(prompts[0])  # warm-up: first call pays for allocation
    ttft, decode, overall, replies = [], [], [], []
    for messages in prompts:
        start = time.perf_counter()
        first = None
        pieces = []
        for piece in interviewer.stream(messages):
            first = first or time.perf_counter()
            pieces.append(piece)
        end = time.perf_counter()
        reply = "".join(pieces).strip()
        tokens = len(interviewer.tokenizer(reply, add_special_tokens=False)["input_ids"])
        replies.append(reply)
        if first is None or tokens < 2:
            continue
        ttft.append((first - start) * 1000)
        decode.append((tokens - 1) / max(end - first, 1e-9))
        overall.append(tokens / (end - start))
    return {
        "ttft_ms": round(statistics.median(ttft), 1),
        "decode_tok_s": round(statistics.median(decode), 1),
        "overall_tok_s": round(statistics.median(overall), 1),
    }, replies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=Path("models/interviewer"))
    parser.add_argument("--dialogues", type=Path, default=Path("data/dialogues/eval.jsonl"))
    parser.add_argument("--prompts", type=int, default=12)
    parser.add_argument("--out", type=Path, default=Path("bench/results/interviewer_speed.json"))
    args = parser.parse_args()

    lines = args.dialogues.read_text().splitlines()[: args.prompts]
    prompts = [json.loads(line)["messages"] for line in lines]
    tuned = InterviewerFiles.tuned(args.model_dir)
    base = InterviewerFiles.base(json.loads((args.model_dir / "interviewer.json").read_text())["base"])

    with tempfile.TemporaryDirectory() as work:
        model, _ = load_base(tuned.base_dir)
        from peft import PeftModel

        weights = merged_lora_weights(PeftModel.from_pretrained(model, tuned.adapter_dir))
        variants = {}
        for qtype in ("F16", "Q4_1"):
            variants[qtype] = Path(work) / f"interviewer-{qtype}.gguf"
            export_gguf(tuned.gguf, weights, model.config, variants[qtype], qtype)
        del model, weights

        paths = {
            "transformers fp32 (tuned, reference)": Interviewer(tuned, "transformers"),
            "llama.cpp Q4_1 (packaged base)": Interviewer(base, "llama.cpp"),
            "llama.cpp Q8_0 (tuned, shipped)": Interviewer(tuned, "llama.cpp"),
            "llama.cpp F16 (tuned)": Interviewer(
                InterviewerFiles(tuned.base_dir, variants["F16"]), "llama.cpp"
            ),
            "llama.cpp Q4_1 (tuned)": Interviewer(
                InterviewerFiles(tuned.base_dir, variants["Q4_1"]), "llama.cpp"
            ),
        }
        results, reference = {}, None
        for name, interviewer in paths.items():
            figures, replies = measure(interviewer, prompts)
            reference = reference or replies
            figures["agreement"] = round(
                sum(a == b for a, b in zip(reference, replies, strict=True)) / len(replies), 3
            )
            results[name] = figures
            print(
                f"{name:38} ttft {figures['ttft_ms']:7.1f} ms  decode {figures['decode_tok_s']:6.1f} tok/s  "
                f"overall {figures['overall_tok_s']:6.1f} tok/s  same as reference {figures['agreement']:.0%}"
            )

    reference_speed = results["transformers fp32 (tuned, reference)"]["decode_tok_s"]
    for figures in results.values():
        figures["decode_speedup_vs_transformers"] = round(figures["decode_tok_s"] / reference_speed, 2)
    report = {
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine()},
        "prompts": len(prompts),
        "paths": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
