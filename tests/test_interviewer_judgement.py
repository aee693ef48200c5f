"""The evaluation's baselines and judges: the old interviewer's turns, the plan's verdicts against
the graders, and the blind pairwise judge."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import REPO

from mockmentor.evaluation.judge_interviewer import judge_messages, margin, outcome, preference
from mockmentor.evaluation.plan_verdicts import every_fold, verdict_agreement, with_verdicts
from mockmentor.evaluation.template_turns import template_turn
from mockmentor.interviewer.coverage import CoverageRule, KeyPointCoverage
from mockmentor.interviewer.leak import leaked_points
from mockmentor.interviewer.turn import parse_turn
from mockmentor.model_assets import resolved_path

LEAF = {
    "topic": "intro-programming",
    "question": "What is a leaf?",
    "answer": "The printing press was invented by Gutenberg around 1440.",
    "verdict": "off_topic",
    "covered": [],
    "missed": ["A node that has no children."],
    "hint": None,
    "next_question": None,
}


def test_the_template_baseline_keeps_the_old_interviewers_faults() -> None:
    """The 'before' column must be the old behaviour, not a strawman or an improvement: it parses as
    a turn, reads the missed point aloud, and calls an off-topic answer with a fair score close."""
    for seed in range(8):
        turn = template_turn(LEAF, score=3.5, seed=seed)
        parse_turn(turn, "feedback")
        assert leaked_points(turn, LEAF["missed"], LEAF["question"])
        assert any(word in turn for word in ("close", "Partly there", "right track"))
    complete = LEAF | {"verdict": "complete", "covered": LEAF["missed"], "missed": []}
    following = complete | {"next_question": "What is a binary tree?"}
    assert template_turn(following, score=5.0, seed=1).endswith("What is a binary tree?")
    assert template_turn(complete, score=5.0, seed=1).startswith(("That's", "Exactly", "Well", "Great"))


@pytest.fixture(scope="module")
def fold_answers(prepared_data: Path) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Every graded answer to six real Mohler questions, and their key points."""
    answers = pd.read_parquet(prepared_data / "processed/answers.parquet")
    questions = pd.read_parquet(prepared_data / "processed/questions.parquet").set_index("id")
    chosen = sorted(answers["question_id"].unique())[:6]
    rows = answers[answers["question_id"].isin(chosen)]
    frame = rows[["question_id", "text", "score", "grader1", "grader2"]].rename(columns={"text": "answer"})
    frame = frame.reset_index(drop=True)
    return frame, {q: list(questions.loc[q, "key_points"]) for q in chosen}


def test_planned_verdicts_follow_the_score_they_are_given(built_dialogues: Path, fold_answers) -> None:
    """Planned from the graders' own scores the verdicts match the graders' bands; planned from
    scores that belong to other answers they do not. The kappa measures the plan, not the labels."""
    frame, key_points = fold_answers
    rule = CoverageRule.read(built_dialogues / "dialogues/coverage.json")
    coverage = KeyPointCoverage(resolved_path("scorer-encoder"))
    honest = frame.assign(stacked=frame["score"], stacked_off_topic=False)
    shuffled = honest.assign(stacked=honest["stacked"].sample(frac=1, random_state=0).to_numpy())

    def agreement(scored: pd.DataFrame) -> dict:
        return verdict_agreement(with_verdicts(scored, key_points, rule, coverage), 4.5, rule.wrong)

    agreed = agreement(honest)
    assert agreed["answers"] == len(frame) and agreed["questions"] == 6
    assert agreed["cohen_kappa"] >= 0.8, agreed
    # one grader's bands against the other's: the ceiling a plan could hope to reach
    assert -1 <= agreed["graders_with_each_other_kappa"] < agreed["cohen_kappa"]
    assert agreement(shuffled)["cohen_kappa"] < 0.3
    flagged = honest.assign(stacked_off_topic=True)
    result = agreement(flagged)
    assert result["flagged_off_topic"] == len(frame)
    assert [sum(row[:2]) for row in result["confusion"]["counts"]] == [0, 0, 0]  # all called off track


def test_every_fold_pools_the_folds_and_keeps_each_ones_kappa(built_dialogues: Path, fold_answers) -> None:
    """A fold planned from scores that belong to other answers shows in its own kappa and pulls
    the pooled one down; the fold planned from the graders' scores keeps its high kappa."""
    frame, key_points = fold_answers
    rule = CoverageRule.read(built_dialogues / "dialogues/coverage.json")
    coverage = KeyPointCoverage(resolved_path("scorer-encoder"))
    questions = sorted(key_points)
    honest = frame.assign(
        stacked=frame["score"],
        stacked_off_topic=False,
        fold=[int(questions.index(q) >= 3) for q in frame["question_id"]],
    )
    wrong = honest["fold"] == 1
    mixed = honest.copy()
    mixed.loc[wrong, "stacked"] = honest.loc[wrong, "stacked"].sample(frac=1, random_state=0).to_numpy()
    result = every_fold(with_verdicts(mixed, key_points, rule, coverage), 4.5, rule.wrong)
    assert result["answers"] == len(frame) and result["questions"] == 6
    assert set(result["per_fold_kappa"]) == {"0", "1"}
    assert result["per_fold_kappa"]["0"] >= 0.8 > 0.3 > result["per_fold_kappa"]["1"], result
    assert result["per_fold_kappa"]["1"] < result["cohen_kappa"] < result["per_fold_kappa"]["0"]


def test_a_judge_that_always_says_a_prefers_nothing() -> None:
    """Position bias cancels over the swapped orders; a preference that survives it counts."""
    biased = {"A": 0.7, "B": 0.3, "tie": 0.0}
    assert margin(biased, biased) == 0 and outcome(margin(biased, biased), 0.05) == 0.5
    prefers_new = margin({"A": 0.8, "B": 0.2, "tie": 0.0}, {"A": 0.6, "B": 0.4, "tie": 0.0})
    assert prefers_new == pytest.approx(0.2) and outcome(prefers_new, 0.05) == 1.0
    assert outcome(-prefers_new, 0.05) == 0.0
    result = preference([1.0, 1.0, 0.5, 0.0, 1.0, 1.0], [0.2] * 6, picks_a=0.6, resamples=500, seed=0)
    assert result["win_rate"] == round(4.5 / 6, 4)
    assert result["ci95"][0] <= result["win_rate"] <= result["ci95"][1]
    assert (result["wins"], result["losses"], result["ties"]) == (4, 1, 1)


def test_the_judge_sees_no_names_and_the_hidden_points() -> None:
    row = {"question": "What is a leaf?", "answer": "degree zero", "key_points": LEAF["missed"]}
    prompt = judge_messages(row, "first turn", "second turn")[-1]["content"]
    assert "Feedback A: first turn" in prompt and "Feedback B: second turn" in prompt
    assert "A node that has no children." in prompt
    assert "tuned" not in prompt and "template" not in prompt


@pytest.mark.slow
def test_the_judge_stage_rates_two_interviewers_on_real_prompts(tmp_path: Path) -> None:
    """The real judge (Qwen2.5-Coder-1.5B on llama.cpp) on three held-out-style prompts."""
    from mockmentor.evaluation.judge_interviewer import main

    replies = tmp_path / "replies.jsonl"
    rows = []
    for n, answer in enumerate(
        ["A node with degree zero.", "The printing press came around 1440.", "The root of the tree."]
    ):
        template = template_turn(LEAF | {"answer": answer}, score=3.5, seed=n)
        written = "You're describing where a tree ends. What can such a node not have below it?"
        replies_of = {"tuned": written, "template": template}
        rows.append(
            {"id": str(n), "question": LEAF["question"], "answer": answer, "key_points": LEAF["missed"]}
            | {"replies": replies_of}
        )
    replies.write_text("".join(json.dumps(r) + "\n" for r in rows))
    section = yaml.safe_load((REPO / "configs/interviewer.yaml").read_text())["judge_interviewer"]
    section |= {"replies": str(replies), "metrics": str(tmp_path / "preference.json")}
    section |= {"bootstrap_resamples": 200, "max_prompts": 0, "comparisons": [["tuned", "template"]]}
    config = tmp_path / "interviewer.yaml"
    config.write_text(yaml.safe_dump({"judge_interviewer": section}))
    report = main(config)
    result = report["comparisons"]["tuned_vs_template"]
    assert result["prompts"] == 3 and result["wins"] + result["losses"] + result["ties"] == 3
    assert 0 < result["judge_mean_p_a"] < 1 and -1 <= result["mean_margin"] <= 1
    assert json.loads((tmp_path / "preference.json").read_text()) == report
