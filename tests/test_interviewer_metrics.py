"""The interviewer's turn measures judge what a candidate hears: leaks, specificity, targeting."""

from __future__ import annotations

from mockmentor.evaluation.interviewer_metrics import refers_to_answer, turn_metrics
from mockmentor.interviewer.coverage import KeyPointCoverage
from mockmentor.interviewer.turn import AnswerFacts, feedback_messages
from mockmentor.model_assets import resolved_path

FACTS = AnswerFacts(
    topic="intro-programming",
    question="What is a leaf?",
    answer="It is the node at the very bottom, with degree zero.",
    missed=["A node that has no children."],
    hint="A node that has no children.",
)


def example(target: str) -> dict:
    return {
        "topic": FACTS.topic,
        "messages": feedback_messages(FACTS),
        "target": target,
        "facts": FACTS.__dict__,
    }


def test_specificity_counts_the_candidates_own_words_not_the_reference() -> None:
    facts = FACTS.__dict__
    assert refers_to_answer("Calling it degree zero is precise.", facts)
    assert not refers_to_answer("That is on the right track, though the core point is still vague.", facts)
    assert not refers_to_answer(
        "A leaf is a node with children, you said.", facts
    )  # question and key point words


def test_turn_measures_on_a_template_probe_and_an_honest_hint() -> None:
    coverage = KeyPointCoverage(resolved_path("scorer-encoder"))
    material = {"intro-programming": coverage.embed(["What is a leaf?", "A node that has no children."])}
    written = "Degree zero is a precise way to put it. What hangs below such a node?"
    template = (
        "That is on the right track, though the core point is still vague. "
        "Could you walk me through this idea: A node that has no children?"
    )
    rates, judgements = turn_metrics(
        [example(written), example(written)], [written, template], coverage, material, 0.2, hint_threshold=0.3
    )
    honest, leaky = judgements
    assert not honest["leak"] and leaky["leak"]
    assert not honest["fact_leak"] and leaky["fact_leak"]  # a whole point given away is a fact given away
    assert honest["specificity"] and not leaky["specificity"]
    assert honest["well_formed"] and leaky["well_formed"]
    assert leaky["hint_targeting"]  # quoting the point targets it too: the leak measure is what catches it
    assert abs(honest["similarity"] - 1) < 1e-5  # the reply is the written turn itself
    assert rates["leak"] == 0.5 and rates["per_topic"]["intro-programming"]["turns"] == 2
