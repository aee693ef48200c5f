"""The leak rule catches the answer key read aloud and passes honest hints."""

import pytest

from mockmentor.interviewer.leak import facts, leaked_fact, leaked_points, leaked_share, leaks

LEAF = "What is a leaf?"
LEAF_POINT = "A node that has no children."
LOOP = "What is the main difference between a while and a do...while statement?"
LOOP_POINT = "The block inside a do...while statement will execute at least once."
STACK = "What is a stack?"
STACK_POINT = "A data structure where the last element added is the first one removed."


@pytest.mark.parametrize(
    ("turn", "point", "question"),
    [
        # today's probes: the point read back word for word
        ("Could you walk me through this idea: A node that has no children?", LEAF_POINT, LEAF),
        (
            "Can you expand on this point: the block inside a do...while statement "
            "will execute at least once?",
            LOOP_POINT,
            LOOP,
        ),
        # near-verbatim: reordered filler, plural, a word dropped
        ("Good try. Isn't a leaf just a node with no children?", LEAF_POINT, LEAF),
        (
            "Remember that the block of a do...while executes at least once, so why does that matter?",
            LOOP_POINT,
            LOOP,
        ),
        ("You missed that the last element added is the first removed; can you say why?", STACK_POINT, STACK),
    ],
)
def test_catches_quotes(turn: str, point: str, question: str) -> None:
    assert leaks(turn, point, question), leaked_share(turn, point, question)


@pytest.mark.parametrize(
    ("turn", "point", "question"),
    [
        (
            "You said a leaf sits at the bottom of the tree. What can you say about what hangs below it?",
            LEAF_POINT,
            LEAF,
        ),
        (
            "Both loops repeat while the condition holds. If the condition is false from the start, "
            "how many times does each body run?",
            LOOP_POINT,
            LOOP,
        ),
        (
            "You described pushing and popping. "
            "If you push three plates and pop one, which plate comes back?",
            STACK_POINT,
            STACK,
        ),
    ],
)
def test_passes_honest_hints(turn: str, point: str, question: str) -> None:
    assert not leaks(turn, point, question), leaked_share(turn, point, question)


def test_question_words_do_not_count() -> None:
    # "stack" is the question's own word: naming it gives nothing away.
    point = "A stack is last in, first out."
    assert leaked_share("So what makes a stack different?", point, "What is a stack?") == 0
    assert leaked_points("It is last in, first out, right?", [point, LEAF_POINT], "What is a stack?") == [
        point
    ]


# One fact of a point with three: the whole-point rule sees too little of it, the fact rule does not.
LOOPS = "What are the similarities between iteration and recursion?"
LOOPS_POINT = (
    "They both involve repetition; they both have termination tests; they can both occur infinitely."
)
LOOPS_ANSWER = (
    "Incorrectly writing either can result in infinite loops, both perform the same task over and over."
)
MERGE = "Briefly describe in one sentence how does merge sort work?"
MERGE_POINT = (
    "It splits the original array into two, sorts each of the two halves, and then merges the sorted arrays."
)
MERGE_ANSWER = (
    "A merge sort works by removing all items to separate memory locations and merging them back together."
)


@pytest.mark.parametrize(
    ("turn", "point", "question", "answer"),
    [
        # served turns of the tuned model (evaluation/replies/interviewer.jsonl)
        (
            "Incorrectly writing either can result in infinite loops, both perform the same task over "
            "and over, and both have termination tests.",
            LOOPS_POINT,
            LOOPS,
            LOOPS_ANSWER,
        ),
        (
            "The key is that the two halves are sorted, so the merge is a pure comparison.",
            MERGE_POINT,
            MERGE,
            MERGE_ANSWER,
        ),
    ],
)
def test_catches_one_fact_of_a_point(turn: str, point: str, question: str, answer: str) -> None:
    assert not leaks(turn, point, question)  # too little of the whole point for the rule
    assert leaked_fact(turn, point, question, answer)
    assert leaked_points(turn, [point], question, answer) == [point]


@pytest.mark.parametrize(
    ("turn", "point", "question", "answer"),
    [
        # the written turns for the same answers lead toward the fact without stating it
        (
            "You haven't named what normally prevents that runaway, and it's the piece you'd look at first "
            "when debugging either one. In a well-written loop and a well-written recursive function, what "
            "gets checked on every pass before deciding to go again?",
            LOOPS_POINT,
            LOOPS,
            LOOPS_ANSWER,
        ),
        (
            "What's missing is how the breaking apart is organised, and that structure is what gives "
            "merge sort its efficiency. Rather than scattering every item at once, how does merge sort "
            "decide where to cut the list at each step?",
            MERGE_POINT,
            MERGE,
            MERGE_ANSWER,
        ),
        # saying back what the candidate said is praise, not a giveaway
        (
            "Right, both have termination tests and both repeat. What else do they share?",
            LOOPS_POINT,
            LOOPS,
            "Both have termination tests, and both repeat.",
        ),
        # two of a fact's words far apart in a long turn are no quote of it
        (
            "Both of your examples were loops. Think about what a test in your code is for, and how a "
            "recursive call knows about termination of the work.",
            LOOPS_POINT,
            LOOPS,
            "For loops and while loops.",
        ),
    ],
)
def test_passes_hints_near_a_fact(turn: str, point: str, question: str, answer: str) -> None:
    assert leaked_fact(turn, point, question, answer) is None


def test_a_point_splits_into_its_facts() -> None:
    assert facts(LOOPS_POINT) == [
        "They both involve repetition",
        "they both have termination tests",
        "they can both occur infinitely.",
    ]
    assert facts("A node that has no children.") == ["A node that has no children."]
