"""The session report's reveal: a strong answer, one tip per answer, delivery advice from the figures."""

from __future__ import annotations

from mockmentor.serving import schemas
from mockmentor.serving.reports import delivery_advice, strong_answer, tip
from mockmentor.speech.delivery import Word, delivery
from mockmentor.store.interviews import Turn

FILLERS = ["um", "uh", "like"]


def answer(text: str, words: list[Word] | None) -> schemas.QuestionReport:
    return schemas.QuestionReport(
        position=1, topic="intro-programming", question="What is a leaf?", transcript=text, score=3.0,
        low=2.5, high=3.5, missed=[], strong_answer="A node that has no children.", tip="-",
        delivery=delivery(text, words, FILLERS, pause_seconds=2.0), rating=None,
    )  # fmt: skip


def timed(text: str, seconds_per_word: float, pause_after: int | None = None) -> list[Word]:
    words, t = [], 0.0
    for i, w in enumerate(text.split()):
        words.append(Word(w, t, t + seconds_per_word * 0.8))
        t += seconds_per_word + (3.0 if i == pause_after else 0.0)
    return words


def test_tip_names_the_missed_point_only_now_and_says_what_to_do_otherwise() -> None:
    missed = Turn(missed=["A node that has no children."], off_topic=False)
    assert tip(missed).lower() == "say this explicitly next time: a node that has no children."
    assert "question that was asked" in tip(Turn(missed=[], off_topic=True))
    assert "Nothing was missing" in tip(Turn(missed=[], off_topic=False))


def test_strong_answer_is_plain_and_readable() -> None:
    assert strong_answer("A node with no children.") == "A node with no children."
    assert strong_answer(" ".join(["word"] * 200)).endswith("…")
    assert strong_answer(None) == ""


def test_delivery_advice_only_where_the_figures_call_for_it() -> None:
    calm = "a leaf is a node at the bottom of a tree with nothing below it at all"
    assert delivery_advice([answer(calm, timed(calm, 0.45))]) == []  # about 133 words a minute
    fast = answer(calm, timed(calm, 0.25))  # 240 words a minute
    [advice] = delivery_advice([fast])
    assert advice.startswith("You spoke at") and "faster than conversational speech" in advice
    filled = "um a leaf is um like a node uh at the bottom um"
    assert any("filler words" in a for a in delivery_advice([answer(filled, None)]))
    paused = answer(calm, timed(calm, 0.45, pause_after=3))
    assert any("pause longer than 2 s" in a for a in delivery_advice([paused]))
