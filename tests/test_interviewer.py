"""The interviewer end to end with the real SmolLM2 base on real dialogue turns, tiny recipe."""

from __future__ import annotations

import json
import re
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml
from peft import PeftModel

from mockmentor.evaluation.evaluate_interviewer import main as evaluate_interviewer
from mockmentor.interviewer.decoding import GenerationStopped, Interviewer, InterviewerFiles, prompt_ids
from mockmentor.interviewer.gguf_export import export_gguf, merged_lora_weights
from mockmentor.interviewer.lora import load_base
from mockmentor.interviewer.turn import AnswerFacts, feedback_messages, opener_messages
from mockmentor.training.train_interviewer import main as train_interviewer

pytestmark = pytest.mark.slow  # LoRA training and decoding

REPO = Path(__file__).resolve().parent.parent
TINY_RECIPE = {"max_steps": 6, "batch_size": 2, "max_examples": 24, "learning_rate": 1e-3, "logging_steps": 2}


def graders_as_predictions(folder: Path) -> Path:
    """evaluate_scorer's unseen-question scores in form, holding the graders' own scores: the
    evaluation's plumbing is tested here, the scorer's folds in test_scorer.py."""
    answers = pd.read_parquet(REPO / "data/processed/answers.parquet")
    folds = pd.read_parquet(REPO / "data/splits/uq.parquet").set_index("question_id")["fold"]
    path = folder / "uq_scores.parquet"
    score = answers["score"].to_numpy()
    frame = pd.DataFrame(
        {"question_id": answers["question_id"].to_numpy(), "answer": answers["text"].to_numpy()},
        index=pd.Index(answers["id"], name="id"),
    )
    frame["fold"] = frame["question_id"].map(folds)
    frame = frame.assign(score=score, stacked=score, low=score - 1, high=score + 1, stacked_off_topic=False)
    frame.to_parquet(path)
    return path


def write_config(folder: Path, dialogues: Path, **sections: dict) -> Path:
    config = yaml.safe_load((REPO / "configs/interviewer.yaml").read_text())
    config["train_interviewer"] |= {
        "dialogues_dir": str(dialogues / "dialogues"),
        "output_dir": str(folder / "interviewer"),
        "metrics": str(folder / "interviewer_train.json"),
    }
    config["train_interviewer"]["recipe"] |= TINY_RECIPE
    config["evaluate_interviewer"] |= {
        "dialogues_dir": str(dialogues / "dialogues"),
        "processed_dir": str(REPO / "data/processed"),
        "uq_predictions": str(graders_as_predictions(folder)),
        "replies": str(folder / "replies.jsonl"),
        "model_dir": str(folder / "interviewer"),
        "metrics": str(folder / "interviewer.json"),
        "samples": str(folder / "samples.md"),
        "plot": str(folder / "rates.png"),
        "max_examples": 4,
        "agreement_prompts": 2,
        "max_new_tokens": 24,
        "sample_turns": 2,
    }
    for name, values in sections.items():
        config[name] |= values
    path = folder / "interviewer.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def trained(built_dialogues: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("interviewer")
    train_interviewer(write_config(folder, built_dialogues))
    return folder


def test_a_few_lora_steps_lower_the_loss_on_held_out_turns(trained: Path) -> None:
    meta = json.loads((trained / "interviewer/interviewer.json").read_text())
    assert meta["val"]["loss"] < meta["val"]["base_loss"] - 0.05
    assert meta["gguf"] == {"type": "Q8_0", "changed": 210, "copied": 62}  # 30 layers x 7 adapted linears
    assert (trained / "interviewer/adapter/adapter_model.safetensors").is_file()
    version = mlflow.MlflowClient().get_model_version_by_alias("interviewer", "champion")
    assert version.tags["val_loss"] == f"{meta['val']['loss']:.6f}"
    assert len(version.tags["measured_on"]) == 16  # champions compare only on the same val set


def test_fast_path_streams_and_agrees_with_transformers(trained: Path, tmp_path: Path) -> None:
    tuned = InterviewerFiles.tuned(trained / "interviewer")
    # F32 for the changed tensors isolates the export (names, q/k row order) from quantisation.
    model, _ = load_base(tuned.base_dir)
    weights = merged_lora_weights(PeftModel.from_pretrained(model, tuned.adapter_dir))
    export_gguf(tuned.gguf, weights, model.config, tmp_path / "f32.gguf", "F32")
    # A feedback prompt: the one kind of turn the interviewer is trained on and serves.
    prompt = feedback_messages(
        AnswerFacts(
            "intro-programming",
            "What is a leaf?",
            "The node at the bottom of the tree.",
            missed=["A node that has no children."],
            hint="A node that has no children.",
        )
    )

    fast = Interviewer(InterviewerFiles(tuned.base_dir, tmp_path / "f32.gguf", None), "llama.cpp", 32)
    pieces = list(fast.stream(prompt))
    assert len(pieces) >= 3  # streamed, not returned at once
    reference = Interviewer(tuned, "transformers", 32).reply(prompt)
    assert "".join(pieces).strip().split()[:6] == reference.split()[:6]


def test_packaged_base_decodes_the_same_on_both_paths() -> None:
    base = InterviewerFiles.base()
    prompt = opener_messages("ml-theory", "Explain overfitting.")
    fast, reference = (
        Interviewer(base, "llama.cpp", 24).reply(prompt),
        Interviewer(base, "transformers", 24).reply(prompt),
    )
    # Greedy decoding turns a near-tie between two tokens into a different continuation, and the
    # CPUs' float kernels differ (on an AMD EPYC the two paths part at the 7th word; on the Intel
    # machines they matched for all 24 tokens): the start must agree, as for the tuned model.
    assert fast.split()[:6] == reference.split()[:6], (fast, reference)


def test_a_prompt_prefilled_through_the_answer_so_far_is_reused_and_replies_the_same() -> None:
    """The live socket prefills the feedback prompt through the answer heard so far while the
    candidate speaks; when the answer ends, llama.cpp evaluates only the rest, and greedy
    decoding gives the reply it gives from a cold cache."""
    base = InterviewerFiles.base()
    facts = {"topic": "data-structures", "question": "What is a stack?", "verdict": "partial"}
    so_far = "A stack is a list where you add and remove items"
    final = feedback_messages(AnswerFacts(**facts, answer=f"{so_far} at the same end, like plates."))
    heard = feedback_messages(AnswerFacts(**facts, answer=so_far))
    cold = Interviewer(base, "llama.cpp", 24, reuse_prefix=True)
    expected = cold.reply(final)

    warm = Interviewer(base, "llama.cpp", 24, reuse_prefix=True)
    through = prompt_ids(warm.tokenizer, heard, through=f"Answer: {so_far}")
    whole = prompt_ids(warm.tokenizer, final)
    assert whole[: len(through) - 1] == through[:-1]  # the prompt so far starts the final one
    assert warm.tokenizer.decode(through).endswith(f"Answer: {so_far}")
    warm.warm(heard, through=f"Answer: {so_far}")
    assert warm.model.n_tokens >= len(through)  # in the KV cache (with the one token sampled)
    assert warm.reply(final) == expected
    with pytest.raises(ValueError):
        prompt_ids(warm.tokenizer, heard, through="words the prompt does not hold")


@pytest.mark.parametrize("backend", ["llama.cpp", "transformers"])
def test_a_reply_goes_on_after_words_said_ahead_as_after_its_own(backend: str) -> None:
    """The live socket speaks a reply's opening before the answer ends (opening_ahead); the turn
    then has the model go on after those words. From a cold cache, greedy decoding after the first
    words of a reply, given as text, writes what followed them in that reply."""
    interviewer = Interviewer(InterviewerFiles.base(), backend, 24)
    prompt = opener_messages("ml-theory", "Explain overfitting.")
    whole = interviewer.reply(prompt)
    said = whole[: [m.end() for m in re.finditer(r"\S+", whole)][3]]  # its first four words
    goes_on = "".join(interviewer.stream(prompt, reply_start=said))
    # The words said are prefilled in one batch where the model wrote them one token at a time, and
    # a near-tie can then go the other way further on (as between the two backends, above: here
    # llama.cpp parts after the sentence, "Question:" against "What is", on an AMD EPYC). The rest of
    # the sentence they begin, the one the guard judges with them, must agree.
    rest = whole[len(said) :]
    assert goes_on[: rest.index(".") + 1] == rest[: rest.index(".") + 1], (said, goes_on, whole)


@pytest.mark.parametrize("backend", ["llama.cpp", "transformers"])
def test_a_reply_nobody_waits_for_stops_within_a_token_and_frees_the_model(backend: str) -> None:
    """A reply started early in the candidate's silence is dropped when they speak again: its
    decoding must end at the next token, not at the end of the sentence, and leave the model free
    for the turn that is wanted."""
    interviewer = Interviewer(InterviewerFiles.base(), backend, 48)
    prompt = opener_messages("ml-theory", "Explain overfitting.")
    whole = list(interviewer.stream(prompt))
    asked: list[int] = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 3

    pieces: list[str] = []
    with pytest.raises(GenerationStopped):
        for piece in interviewer.stream(prompt, stop=stop):
            pieces.append(piece)
    assert len(pieces) <= 3 < len(whole), (pieces, whole)
    assert "".join(whole).startswith("".join(pieces))  # the same reply, cut short
    assert not interviewer._lock.locked()
    assert interviewer.reply(prompt) == "".join(whole).strip()  # and the next one is whole


def test_evaluation_stage_writes_every_key(trained: Path, built_dialogues: Path) -> None:
    report = evaluate_interviewer(trained / "interviewer.yaml")
    written = json.loads((trained / "interviewer.json").read_text())
    assert written == json.loads(json.dumps(report))
    assert set(written["models"]) == {"written", "base", "tuned", "template", "served"}
    rates = {
        "leak",
        "fact_leak",
        "hint_targeting",
        "specificity",
        "similarity",
        "well_formed",
        "on_topic",
        "no_invented_score",
    }
    for name in ("base", "tuned"):
        assert set(written["models"][name]) == rates | {
            "mean_words", "per_topic", "distinct_trigrams_per_token", "perplexity"
        }  # fmt: skip
    assert written["fast_path_agreement"]["prompts"] == 2
    goals = {"leak", "fact_leak", "hint_targeting", "well_formed", "on_topic", "no_invented_score"}
    goals.add("verdict_kappa")
    assert set(written["goals"]) == set(written["goals_model_alone"]) == goals
    # the service never speaks a broken turn: the guard repairs what the model got wrong
    served = written["models"]["served"]
    assert served["well_formed"] == 1 and served["leak"] in (0, None) and served["fact_leak"] in (0, None)
    # hint targeting apart by who wrote the hint, and the floor a hint that adds nothing reaches
    by_writer = written["models"]["served"]["hint_targeting_by_writer"]
    assert set(by_writer) == {"model", "guard"}
    assert all(w["rate"] is None or 0 <= w["rate"] <= 1 for w in by_writer.values())
    assert 0 <= written["hint_threshold"]["question_as_hint"] <= 1
    # planned from the graders' own scores, the verdicts agree with the graders' bands
    assert written["verdict_vs_graders"]["cohen_kappa"] >= 0.8
    replies = [json.loads(line) for line in (trained / "replies.jsonl").read_text().splitlines()]
    assert len(replies) == 4 and set(replies[0]["replies"]) == {
        "written",
        "template",
        "base",
        "tuned",
        "served",
    }
    assert 0 < written["hint_threshold"]["threshold"] < 1 and written["hint_threshold"]["auc"] > 0.6
    # the written turns meet the goals their own measures set: they are what the model learns
    reference = written["models"]["written"]
    assert reference["leak"] in (0, None) and reference["fact_leak"] in (0, None)
    assert reference["well_formed"] == 1
    base, tuned = written["models"]["base"], written["models"]["tuned"]
    for name, metrics in written["models"].items():
        assert all(metrics[k] is None or 0 <= metrics[k] <= 1 for k in rates), (name, metrics)
        assert metrics["mean_words"] > 0, name
    assert 1 <= tuned["perplexity"] < base["perplexity"]  # a few LoRA steps on these turns help
    assert written["margin_over_base"]["perplexity_ratio"] == pytest.approx(
        tuned["perplexity"] / base["perplexity"], abs=1e-3
    )
    for key in ("well_formed", "on_topic"):
        assert written["margin_over_base"][key] == pytest.approx(tuned[key] - base[key], abs=1e-3)
    agreement = written["fast_path_agreement"]
    assert 0 <= agreement["exact_match"] <= agreement["word_prefix_agreement"] <= 1
    assert (trained / "samples.md").read_text().count("**tuned:**") == 2
    assert (trained / "rates.png").stat().st_size > 0


def test_base_comparison_times_training_and_replies_on_the_same_prompts(
    trained: Path, built_dialogues: Path
) -> None:
    from mockmentor.evaluation.compare_interviewer_bases import main as compare_bases

    section = {
        "dialogues_dir": str(built_dialogues / "dialogues"),
        "processed_dir": str(REPO / "data/processed"),
        "model_dir": str(trained / "interviewer"),
        "metrics": str(trained / "bases.json"),
        "candidates": ["interviewer-base"],
        "prompts": 2,
        "lora_steps": 2,
        "max_new_tokens": 24,
    }
    report = compare_bases(write_config(trained, built_dialogues, compare_interviewer_bases=section))
    assert report == json.loads((trained / "bases.json").read_text())
    assert report["prompts"] == 2 and report["served_tuned"]["base"] == "interviewer-base"
    base = report["candidates"]["interviewer-base"]
    assert base["lora_seconds_per_step"] > 0 and base["fits_cpu_budget"]  # 135M params: seconds a step
    for measured in (report["served_tuned"], base["untuned"]):
        assert 0 < measured["first_sentence_s_p50"] <= measured["reply_s_p50"]
        assert 0 <= measured["well_formed"] <= 1 and measured["mean_words"] > 0


def test_code_feedback_is_measured_against_the_plans_own_words(
    trained: Path, built_dialogues: Path, coding_problems: Path, sandbox: object
) -> None:
    """Real failing runs in the sandbox, the tuned interviewer wording them, the real judge."""
    from mockmentor.evaluation.evaluate_code_feedback import main as evaluate_code_feedback

    section = {
        "problems": str(coding_problems),
        "model_dir": str(trained / "interviewer"),
        "candidates": ["served"],
        "runs": 2,
        "max_new_tokens": 24,
        "replies": str(trained / "code_feedback.jsonl"),
        "metrics": str(trained / "code_feedback.json"),
    }
    report = evaluate_code_feedback(write_config(trained, built_dialogues, evaluate_code_feedback=section))
    assert report == json.loads((trained / "code_feedback.json").read_text())
    rows = [json.loads(line) for line in (trained / "code_feedback.jsonl").read_text().splitlines()]
    assert len(rows) == report["runs"] == 2 and len({row["problem_id"] for row in rows}) == 2
    for row in rows:
        assert row["fix_line"] not in row["code"]  # one slip away from the reference
        assert row["replies"]["plan"].endswith("?") and row["fix_line"] not in row["replies"]["plan"]
        assert row["replies"]["served"] and set(row["measures"]) == {"plan", "served"}
    plan = report["replies"]["plan"]
    assert (plan["well_formed"], plan["fix_leak"], plan["names_case"], plan["invented_numbers"]) == (
        1,
        0,
        1,
        0,
    )
    judged = report["judged_against_plan"]["served"]
    assert judged["prompts"] == 2 and 0 <= judged["win_rate"] <= 1 and 0 < judged["judge_mean_p_a"] < 1
    assert report["shipped"] == "plan" and report["not_shipped_because"]["served"]  # 24 tokens, a few steps
