"""Turn-level measures of an interviewer's replies on held-out prompts.

well_formed        the reply parses as a turn of its kind (mockmentor.interviewer.turn.parse_turn)
gap_targeting      feedback turns on answers that missed a point: the question covers one
                   of the missed points, by the same coverage rule the dialogue data uses
on_topic           the question's best cosine similarity to its topic's bank material
                   (questions and reference answers) reaches a threshold
no_invented_score  the reply states no number the prompt did not give
point_verbatim     of the turns that should probe a missed point, the share quoting one word for
                   word: similarity cannot tell "done at the end of the list" from "done at
                   the beginning", so this counts faithful quotes
"""

from __future__ import annotations

import re

import numpy as np

from mockmentor.interviewer.coverage import KeyPointCoverage
from mockmentor.interviewer.turn import TurnFormatError, invented_numbers, parse_turn

_QUESTION = re.compile(r"[^.!?]*\?")


def closing_question(reply: str, kind: str) -> tuple[str, bool]:
    """The reply's question (parsed, or else its last '?' sentence) and whether it is well-formed."""
    try:
        return parse_turn(reply, kind).question, True
    except TurnFormatError:
        found = _QUESTION.findall(" ".join(reply.split()))
        return (found[-1].strip() if found else ""), False


def turn_metrics(
    examples: list[dict],
    replies: list[str],
    coverage: KeyPointCoverage,
    topic_material: dict[str, np.ndarray],
    on_topic_threshold: float,
) -> tuple[dict[str, float | None], list[dict]]:
    """Rates over all examples, and the per-example judgements behind them."""
    parsed = [closing_question(r, e["kind"]) for e, r in zip(examples, replies, strict=True)]
    questions, formed = [q for q, _ in parsed], [f for _, f in parsed]
    gap_rows = [i for i, e in enumerate(examples) if e["kind"] == "feedback" and e["facts"]["missed"]]
    targeted = coverage.covered(
        [questions[i] for i in gap_rows], [examples[i]["facts"]["missed"] for i in gap_rows]
    )
    hit = {i: any(t) and bool(questions[i]) for i, t in zip(gap_rows, targeted, strict=True)}

    verbatim = [
        any(_plain(p) in _plain(replies[i]) for p in examples[i]["facts"]["missed"]) for i in gap_rows
    ]

    vectors = coverage.embed([q or "-" for q in questions])
    on_topic = [
        bool(q) and float((topic_material[e["topic"]] @ v).max()) >= on_topic_threshold
        for e, q, v in zip(examples, questions, vectors, strict=True)
    ]
    prompts = [" ".join(m["content"] for m in e["messages"]) for e in examples]
    clean = [not invented_numbers(r, p) for r, p in zip(replies, prompts, strict=True)]

    judgements = [
        {
            "well_formed": formed[i],
            "gap_targeting": hit.get(i),
            "on_topic": on_topic[i],
            "no_invented_score": clean[i],
        }
        for i in range(len(examples))
    ]
    rates = {
        "well_formed": float(np.mean(formed)),
        # None, not NaN, when no prompt had a missed point: JSON has no NaN
        "gap_targeting": round(float(np.mean(list(hit.values()))), 4) if hit else None,
        "on_topic": float(np.mean(on_topic)),
        "no_invented_score": float(np.mean(clean)),
        "point_verbatim": round(float(np.mean(verbatim)), 4) if verbatim else None,
        "mean_words": float(np.mean([len(r.split()) for r in replies])),
    }
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in rates.items()}, judgements


def _plain(text: str) -> str:
    return " ".join(text.lower().rstrip(" .?").split())


def reply_agreement(reference: list[str], fast: list[str]) -> dict[str, float]:
    """How often two decoders of the same model write the same reply (greedy: they should)."""
    same = [a == b for a, b in zip(reference, fast, strict=True)]
    prefix = [
        len(_common_prefix(a.split(), b.split())) / max(len(a.split()), len(b.split()), 1)
        for a, b in zip(reference, fast, strict=True)
    ]
    return {
        "exact_match": round(float(np.mean(same)), 4),
        "word_prefix_agreement": round(float(np.mean(prefix)), 4),
    }


def _common_prefix(a: list[str], b: list[str]) -> list[str]:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]
