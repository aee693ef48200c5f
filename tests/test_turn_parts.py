"""The pure parts of one interview turn: delivery analytics, sentence streaming, the reply guard."""

from __future__ import annotations

from collections.abc import Iterator

from mockmentor.interviewer.guard import (
    CLOSING,
    OPENING_ENDINGS,
    Opening,
    guarded_feedback,
    opening_clause,
    sentence_stream,
)
from mockmentor.interviewer.templates import fallback_hint
from mockmentor.interviewer.turn import AnswerFacts, parse_turn
from mockmentor.speech.delivery import Word, count_fillers, delivery
from mockmentor.speech.synthesis import speech_parts

LEAD = "Calling it the node with degree 0 is a precise way to put it."
FILLERS = ["um", "uh", "like", "you know", "i mean", "sort of"]
FACTS = AnswerFacts(
    topic="intro-programming",
    question="What is a leaf?",
    answer="The node with degree 0, at the bottom.",
    verdict="partial",
    covered=[],
    missed=["A node that has no children."],
    hint="A node that has no children.",
    next_question="What is a binary tree?",
)

# A held-out Mohler answer whose one missed point holds three facts.
POINT = "They both involve repetition; they both have termination tests; they can both occur infinitely."
SIMILARITIES = AnswerFacts(
    topic="intro-programming",
    question="What are the similarities between iteration and recursion?",
    answer="Writing either wrongly can result in infinite loops, both do the same task over and over.",
    missed=[POINT],
    hint=POINT,
)


def test_fillers_are_counted_as_phrases() -> None:
    text = "Um, you know, I mean it's sort of like a stack, uh, you know?"
    assert count_fillers(text, FILLERS) == {
        "you know": 2,
        "i mean": 1,
        "sort of": 1,
        "um": 1,
        "uh": 1,
        "like": 1,
    }
    assert count_fillers("I know you mean it", FILLERS) == {}  # words of a phrase alone are not fillers


def test_delivery_from_word_timestamps() -> None:
    words = [Word("A", 0.0, 0.2), Word("stack", 0.3, 0.6), Word("um", 3.0, 3.2), Word("is", 3.3, 3.4)]
    result = delivery("A stack um is", words, FILLERS, pause_seconds=2.0)
    assert result.words == 4 and result.speaking_seconds == 3.4
    assert result.words_per_minute == round(4 / 3.4 * 60, 1)
    assert (result.long_pauses, result.longest_pause_seconds) == (1, 2.4)
    assert result.fillers == {"um": 1}
    typed = delivery("A stack is LIFO", None, FILLERS, pause_seconds=2.0)
    assert typed.words == 4 and typed.words_per_minute is None and typed.long_pauses == 0


def test_sentences_leave_the_stream_as_soon_as_they_end() -> None:
    pieces = ["Good", " start.", " Could you", " say more", "? Extra"]
    seen = []
    for sentence in sentence_stream(iter(pieces)):
        seen.append(sentence)
    assert seen == ["Good start.", "Could you say more?", "Extra"]


def turn(
    model_reply: str, probe: bool, next_text: str | None = "What is a binary tree?"
) -> tuple[str, set[str]]:
    pairs = list(guarded_feedback(sentence_stream(iter([model_reply])), FACTS, probe, next_text, seed=0))
    return " ".join(s for s, _ in pairs), {source for _, source in pairs}


def test_a_hint_that_gives_nothing_away_is_kept_word_for_word() -> None:
    reply = f"{LEAD} What hangs below a node like that?"
    assert turn(reply, probe=True) == (reply, {"model"})


def test_a_hint_that_reads_the_missed_point_aloud_is_replaced() -> None:
    for leaky in [
        "Could you walk me through this idea: a node that has no children?",
        "So isn't it a node with no children?",
    ]:
        text, sources = turn(f"{LEAD} {leaky}", probe=True)
        assert text.startswith(LEAD) and sources == {"model", "model+plan"}
        assert text.endswith(parse_turn(text, "feedback").question)
        assert "children" not in text


def test_a_leaking_feedback_sentence_is_never_spoken() -> None:
    text, sources = turn("Right, a leaf is a node that has no children. What else?", probe=True)
    assert "children" not in text and "template" in sources
    parse_turn(text, "feedback")


def test_a_sentence_that_gives_away_one_fact_of_a_point_is_never_spoken() -> None:
    """A served turn of the tuned model: its second clause hands over one of the point's three facts."""
    facts = SIMILARITIES
    praise = "Infinite loops from careless code are a real risk in both, and you saw it."
    leaky = "Both perform the same task over and over, and both have termination tests."
    ask = "In a well-written recursive function, what gets checked before it calls itself again?"
    pairs = list(guarded_feedback(iter([praise, leaky, ask]), facts, probe=True, next_text=None, seed=0))
    assert [s for s, _ in pairs] == [praise, ask]


def test_the_plan_replaces_the_question_when_it_moves_on() -> None:
    reply = f"{LEAD} What hangs below a node like that?"
    text, sources = turn(reply, probe=False)
    assert text.endswith("Next question: What is a binary tree?") and sources == {"model", "model+plan"}
    parse_turn(text, "feedback")
    text, _ = turn(reply, probe=False, next_text=None)
    assert text.endswith(CLOSING)


def test_malformed_replies_become_template_turns() -> None:
    for reply in [
        "",  # nothing at all
        "Candidate: a leaf is a node. Interviewer: good?",  # writes both sides
        "What is a leaf?",  # a question with no feedback
        "One. Two. Three. Four?",  # rambles past two feedback sentences
    ]:
        text, sources = turn(reply, probe=True)
        parsed = parse_turn(text, "feedback")  # always a well-formed turn
        assert "children" not in text.lower(), (reply, text)  # the fallback never quotes the point
        assert "Candidate" not in text
        assert ("template" in sources) == (
            reply in ("", "Candidate: a leaf is a node. Interviewer: good?", "What is a leaf?")
        )
        assert parsed.question


def test_a_broken_sentence_is_skipped_and_the_models_hint_after_it_is_kept() -> None:
    hint = "What hangs below a node like that?"
    for broken in [
        "A leaf is a node that has no children.",  # gives the missed point away
        "It sits at the bottom. It ends a path.",  # with LEAD, a third feedback sentence
    ]:
        text, sources = turn(f"{LEAD} {broken} {hint}", probe=True)
        assert text.startswith(LEAD) and text.endswith(hint), text
        assert "children" not in text and "ends a path" not in text and sources == {"model"}
        parse_turn(text, "feedback")


def test_a_hint_that_only_asks_the_question_again_is_replaced() -> None:
    text, sources = turn(f"{LEAD} So, what is a leaf?", probe=True)
    assert text.startswith(LEAD) and "So, what is a leaf?" not in text and "model+plan" in sources
    assert parse_turn(text, "feedback").question == fallback_hint(FACTS.question, seed=0)


def test_a_hint_with_no_feedback_before_it_gets_the_plans_lead() -> None:
    text, sources = turn("What hangs below a node like that?", probe=True)
    assert text.endswith("What hangs below a node like that?") and sources == {"template", "model+plan"}
    assert parse_turn(text, "feedback").question == "What hangs below a node like that?"


def test_the_guards_own_hint_quotes_the_question_and_never_itself() -> None:
    text, sources = turn("Nothing useful here.", probe=True)
    parsed = parse_turn(text, "feedback")
    assert "“What is a leaf”" in parsed.question and "children" not in text and "model+plan" in sources
    # a question that is itself a guard hint, or more than one short sentence, is not quoted again
    for asked in [parsed.question, "Consider a tree. What is a leaf?"]:
        hint = fallback_hint(asked, seed=0)
        assert "“" not in hint and hint.endswith("?") and hint.count("?") == 1


def test_words_cut_off_by_the_token_limit_are_never_spoken() -> None:
    text, sources = turn(f"{LEAD} What matters is the node itself, and that is what makes", probe=True)
    assert text.startswith(LEAD) and "what makes" not in text and sources == {"model", "model+plan"}
    parse_turn(text, "feedback")


def test_the_first_sentence_is_spoken_from_its_opening_clause() -> None:
    sentence = "Calling it the node with degree 0, at the bottom, is a precise way to put it."
    assert speech_parts(sentence, 4) == [
        "Calling it the node with degree 0,",
        "at the bottom, is a precise way to put it.",
    ]
    assert speech_parts(sentence, 8) == [
        "Calling it the node with degree 0, at the bottom,",
        "is a precise way to put it.",
    ]
    for whole in [
        (sentence, 0),  # off
        (sentence, 12),  # no clause that long
        ("Right, a precise way to put it.", 4),  # the only clause is too short
        ("Calling it the node with degree 0, nice.", 4),  # too little would follow it
    ]:
        assert speech_parts(*whole) == [whole[0]]


def test_the_opening_clause_leaves_the_stream_as_soon_as_it_is_written() -> None:
    pieces = ["Two solid", " similarities", " there,", " since", " both", " loop.", " Next?"]
    read: list[int] = []  # how many pieces the stream had pulled when each item came out

    def counted() -> Iterator[str]:
        for piece in pieces:
            read.append(len(read) + 1)
            yield piece

    items = [(item, read[-1]) for item in sentence_stream(counted(), opening_words=4)]
    opening, sentence, question = (item for item, _ in items)
    assert isinstance(opening, Opening) and not isinstance(sentence, Opening)
    assert (opening, items[0][1]) == ("Two solid similarities there,", 4)  # once the next word began
    assert [sentence, question] == ["Two solid similarities there, since both loop.", "Next?"]
    # the same items from one piece as from many
    assert list(sentence_stream(iter(["".join(pieces)]), 4)) == [opening, sentence, question]
    # an opening shorter than 4 words is not taken; "1," of "1,000" ends no clause
    assert list(sentence_stream(iter(["Yes, a stack is LIFO."]), 4)) == ["Yes, a stack is LIFO."]
    assert opening_clause("It holds up to 1,", 4) is None
    assert opening_clause("It holds up to 1,000 x", 4) is None


def test_an_opening_spoken_ahead_is_finished_and_a_sentence_that_then_leaks_is_cut() -> None:
    facts = SIMILARITIES
    ask = "In a well-written recursive function, what gets checked before it calls itself again?"
    # kept whole: the opening, then the rest of its sentence, then the hint
    good = "Infinite loops from careless code, as you said, are a real risk in both."
    parts = spoken_parts(f"{good} {ask}", facts, 4)
    assert parts == ["Infinite loops from careless code,", "as you said, are a real risk in both.", ask]
    # the tuned model's reply of the held-out set: its last clause hands a fact over. Without the
    # early opening the sentence is skipped; with it, cut after its last clause that keeps the contract
    leaky = (
        "Incorrectly writing either can result in infinite loops, both perform the same task over "
        "and over, and both have termination tests."
    )
    whole = spoken_parts(f"{leaky} {ask}", facts, 0)
    assert "termination" not in " ".join(whole) and leaky not in whole
    parts = spoken_parts(f"{leaky} {ask}", facts, 4)
    assert parts == [
        "Incorrectly writing either can result in infinite loops,",
        "both perform the same task over and over.",
        ask,
    ]
    # an opening that gives the point away is never spoken ahead: the sentence is judged whole
    opening_leaks = "They both have termination tests, which you did not say."
    parts = spoken_parts(f"{opening_leaks} {ask}", facts, 4)
    assert not any("termination" in p for p in parts) and parts[-1] == ask


def spoken_parts(reply: str, facts: AnswerFacts, opening_words: int) -> list[str]:
    return [
        p for p, _ in guarded_feedback(sentence_stream(iter([reply]), opening_words), facts, True, None, 0)
    ]


def test_an_opening_whose_sentence_gives_the_rest_away_is_ended_by_a_line_naming_nothing() -> None:
    """A held-out reply of the tuned model: the clause after the opening hands over the missed
    eviction policy, and no clause after the opening keeps the contract."""
    recency = "evict the least recently used entries, built from a hash map plus a list ordered by recency."
    facts = AnswerFacts(
        topic="system-design",
        question="Design a key-value cache to save the results of the most recent web server queries",
        answer="I'd just use a FIFO queue, when it's full you pop the oldest from the front.",
        verdict="off_track",
        missed=[f"Memory is limited, so {recency}"],
        hint=f"Memory is limited, so {recency}",
    )
    reply = (
        "A FIFO queue is the right one, and the question is about how to keep track of the most "
        "recently used entries. What would you keep beside the queue to find an entry quickly?"
    )
    parts = spoken_parts(reply, facts, 4)
    assert parts[:2] == ["A FIFO queue is the right one,", OPENING_ENDINGS["off_track"]]
    assert not any("recently" in p for p in parts)
    parse_turn(" ".join(parts), "feedback")  # one lead sentence, then the hint: a well-formed turn


def test_the_opening_spoken_ahead_is_the_clause_speech_would_split_off() -> None:
    for sentence in [
        "Two solid similarities there, since either one can run away forever.",
        "A FIFO queue keeps the order; it cannot tell you which entry was used last.",
        "You named the base case: the call that returns without calling itself again.",
        "Right, and the stack grows with every call — that is what runs out.",
    ]:
        assert opening_clause(sentence, 4) == speech_parts(sentence, 4)[0]


def test_an_opening_made_ahead_starts_the_reply_at_once_and_the_model_goes_on_from_it() -> None:
    """The live socket's opening, made while the answer was spoken: it comes out before the model
    has written a word, and the sentence it begins is judged whole, as an opening spoken ahead is."""
    facts = SIMILARITIES
    said = "Infinite loops from careless code,"
    ask = "In a well-written recursive function, what gets checked before it calls itself again?"
    rest = [" as", " you", " said,", " are", " a", " real", " risk", " in", " both.", f" {ask}"]
    read: list[str] = []

    def counted() -> Iterator[str]:
        for piece in rest:
            read.append(piece)
            yield piece

    stream = guarded_feedback(sentence_stream(counted(), 4, said=said), facts, True, None, 0)
    assert next(stream) == (said, "model") and read == []  # out before the model's first piece
    assert [part for part, _ in stream] == ["as you said, are a real risk in both.", ask]
    # the same rule as an opening the model wrote itself: a rest that hands a fact over is cut
    leaky = iter([" both perform", " the same task,", " and both have", " termination tests."])
    parts = [p for p, _ in guarded_feedback(sentence_stream(leaky, 4, said=said), facts, True, None, 0)]
    assert parts[:2] == [said, "both perform the same task."] and not any("termination" in p for p in parts)


def test_a_whole_first_sentence_made_ahead_is_said_once_and_the_turn_goes_on_after_it() -> None:
    """A first sentence with no opening clause is made ahead whole: the guard counts it as the
    turn's first feedback sentence and goes on with the model's next one."""
    facts = SIMILARITIES
    said = "Infinite loops and doing the same task over and over are both real similarities."
    ask = "In a well-written recursive function, what gets checked before it calls itself again?"
    rest = iter([" What", " they", " share", " in", " how", " they", " stop", " is", " missing.", f" {ask}"])
    parts = [p for p, _ in guarded_feedback(sentence_stream(rest, 4, said=said), facts, True, None, 0)]
    assert parts == [said, "What they share in how they stop is missing.", ask]
