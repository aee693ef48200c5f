"""The README's headline figures are the committed metrics: a rerun that moves a metric and leaves
the README behind fails here, naming the row to regenerate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")


def metrics(path: str) -> dict:
    return json.loads((REPO / path).read_text())


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def scorer_rows() -> list[str]:
    scorer = metrics("evaluation/metrics/scorer.json")
    rows = []
    for protocol in ("ua", "uq"):
        m = scorer[protocol]["stacked"]
        rows.append(
            f"| {protocol.upper()} | **stacked scorer (shipped)** | {m['pearson']:.3f} | {m['spearman']:.3f} "
            f"| {m['rmse']:.3f} | {m['qwk']:.3f} | {m['coverage80']:.3f} |"
        )
    return rows


def interviewer_rows() -> list[str]:
    report = metrics("evaluation/metrics/interviewer.json")
    models = report["models"]
    order = ("template", "base", "tuned", "served", "written")

    def row(label: str, key: str, fmt=percent) -> str:
        return f"| {label} | " + " | ".join(fmt(models[m][key]) for m in order) + " |"

    return [
        row("leaks a missed point (goal ≤ 5 %)", "leak"),
        row("gives away one fact of a missed point (the guard's rule)", "fact_leak"),
        row(
            "specificity: the first sentence uses the candidate's own words (goal: beat before)",
            "specificity",
        ),
        row("hint question targets the missed point (goal ≥ 80 %)", "hint_targeting"),
        row("similarity to the held-out written turn", "similarity", lambda v: f"{v:.2f}"),
        row("well-formed turn (goal ≥ 95 %)", "well_formed"),
        row("on topic (goal ≥ 95 %)", "on_topic"),
        row("no invented score or number (goal ≥ 95 %)", "no_invented_score"),
    ]


def sandbox_rows() -> list[str]:
    paths = metrics("bench/results/sandbox.json")["paths"]
    labels = {
        "unsandboxed (baseline)": "baseline: the same runner in a plain `python3 -I`, unsandboxed",
        "sandboxed (served)": "sandboxed (served)",
    }
    return [
        f"| {labels[name]} | {m['run_to_result_p50_ms']:.1f} ms | {m['run_to_result_p95_ms']:.1f} ms "
        f"| {m['runs_per_s']:.1f} |"
        for name, m in paths.items()
    ]


@pytest.mark.parametrize("row", scorer_rows() + interviewer_rows() + sandbox_rows())
def test_readme_rows_match_the_committed_metrics(row: str) -> None:
    assert row in README, f"README.md lacks, or has a stale copy of, the row:\n{row}"


def test_the_sandbox_overhead_is_quoted_as_measured() -> None:
    ratio = metrics("bench/results/sandbox.json")["sandbox_over_baseline"]
    assert f"costs {ratio['p50_latency']:.1f}× the baseline's latency" in README
    assert f"{ratio['runs_per_s']:.2f}× its throughput" in README


def test_the_verdicts_and_the_judge_are_quoted_as_measured() -> None:
    verdicts = metrics("evaluation/metrics/interviewer.json")["verdict_vs_graders"]
    assert f"κ {verdicts['cohen_kappa']:.2f}" in README
    assert f"κ {verdicts['graders_with_each_other_kappa']:.2f}" in README
    preference = metrics("evaluation/metrics/interviewer_preference.json")["comparisons"]
    for result in preference.values():
        low, high = result["ci95"]
        assert (
            f"{result['win_rate'] * 100:.1f} % (95 % interval {low * 100:.1f}–{high * 100:.1f} %)" in README
        )


def code_feedback_rows() -> list[str]:
    report = metrics("evaluation/metrics/code_feedback.json")
    labels = {
        "plan": "the plan's own words (served)",
        "served": "the tuned interviewer, the run as a voice turn's facts",
        "interviewer-candidate-qwen": "Qwen2.5-Coder-0.5B-Instruct, untuned, the run and the code",
    }
    rows = []
    for name, m in report["replies"].items():
        judged = report["judged_against_plan"].get(name)
        low, high = judged["ci95"] if judged else (0, 0)
        against = f"{judged['win_rate'] * 100:.1f} % ({low * 100:.1f}–{high * 100:.1f} %)" if judged else "–"
        rows.append(
            f"| {labels[name]} | {percent(m['well_formed'])} | {percent(m['fix_leak'])} "
            f"| {percent(m['names_case'])} | {percent(m['invented_numbers'])} | {m['reply_s_p50']:.2f} s "
            f"| {against} |"
        )
    return rows


@pytest.mark.parametrize("row", code_feedback_rows())
def test_readme_code_feedback_rows_match_the_committed_metrics(row: str) -> None:
    assert row in README, f"README.md lacks, or has a stale copy of, the row:\n{row}"


def test_the_coding_round_speaks_the_words_that_won() -> None:
    """serving/coding_round.py speaks the plan's words; a rerun in which a model passes the ship
    rule fails here until that model is wired in."""
    assert metrics("evaluation/metrics/code_feedback.json")["shipped"] == "plan"
