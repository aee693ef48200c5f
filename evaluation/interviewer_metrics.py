"""Turn-level measures of an interviewer's feedback on held-out written turns.

What a candidate experiences, not compliance with a format:
  leak               of the turns on answers that missed a point, the share that gives one away
                     (mockmentor/interviewer/leak.py: verbatim, or >= 60 % of its own words in order)
  fact_leak          the same share for a point given away whole or one fact of it (one clause,
                     in a short span, in words the candidate did not use): the guard's rule
  hint_targeting     of the turns the plan wants to lead toward a missed point, the share whose
                     question is close to that point (encoder cosine >= a threshold fitted on the
                     written training turns: `fit_hint_threshold`)
  specificity        of the turns on answers with something right, the share whose first
                     sentence refers to the candidate's own answer: it repeats a word of the
                     answer that is neither the question's nor a word of the key points
  similarity         encoder cosine between the reply and the held-out written turn
  well_formed        the reply parses as a feedback turn (one or two sentences, one question)
  on_topic           the question's best cosine to its topic's bank material reaches a threshold
  no_invented_score  the reply states no number the prompt did not give
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score, roc_curve

from mockmentor.interviewer.coverage import KeyPointCoverage
from mockmentor.interviewer.leak import content_words, leaked_points, leaks
from mockmentor.interviewer.turn import TurnFormatError, invented_numbers, parse_turn

_QUESTION = re.compile(r"[^.!?]*\?")
RATES = (
    "leak",
    "fact_leak",
    "hint_targeting",
    "specificity",
    "similarity",
    "well_formed",
    "on_topic",
    "no_invented_score",
)
PER_TOPIC = ("leak", "fact_leak", "hint_targeting", "specificity", "similarity", "well_formed")


def topic_material(processed_dir: Path, coverage: KeyPointCoverage) -> dict[str, np.ndarray]:
    rows = pd.concat(
        [
            pd.read_parquet(processed_dir / "questions.parquet"),
            pd.read_parquet(processed_dir / "bank.parquet"),
        ]
    )
    return {
        topic: coverage.embed(group["text"].tolist() + group["reference_answer"].tolist())
        for topic, group in rows.groupby("topic")
    }


def closing_question(reply: str) -> tuple[str, bool]:
    """The reply's question (parsed, or else its last '?' sentence) and whether it is well-formed."""
    try:
        return parse_turn(reply, "feedback").question, True
    except TurnFormatError:
        found = _QUESTION.findall(" ".join(reply.split()))
        return (found[-1].strip() if found else ""), False


def first_sentence(reply: str) -> str:
    return re.split(r"(?<=[.!?])\s+", " ".join(reply.split()), maxsplit=1)[0]


def refers_to_answer(lead: str, facts: dict) -> bool:
    """Whether the lead repeats a word only the candidate's answer brought (not the question's,
    not the key points')."""
    given = set(content_words(facts["question"])) | {
        w for p in facts["covered"] + facts["missed"] for w in content_words(p)
    }
    own = set(content_words(facts["answer"])) - given
    return bool(own & set(content_words(lead)))


def fit_hint_threshold(examples: list[dict], coverage: KeyPointCoverage, seed: int = 0) -> dict:
    """The cosine above which a question targets a point, fitted on written training turns:
    each written hint question against its own point (targets) and against the hint point of a
    turn on another question (not targets); the threshold maximises Youden's J."""
    rows = [e for e in examples if e.get("facts") and e["facts"]["hint"] and e.get("written")]
    asks = [closing_question(e["target"])[0] for e in rows]
    own = [e["facts"]["hint"] for e in rows]
    rng = random.Random(seed)
    other = []
    for e in rows:
        candidates = [x["facts"]["hint"] for x in rows if x["question_id"] != e["question_id"]]
        other.append(rng.choice(candidates))
    a, p, o = coverage.embed(asks), coverage.embed(own), coverage.embed(other)
    scores = np.concatenate([(a * p).sum(1), (a * o).sum(1)])
    labels = np.concatenate([np.ones(len(rows)), np.zeros(len(rows))])
    fpr, tpr, thresholds = roc_curve(labels, scores)
    best = int(np.argmax(tpr - fpr))
    return {
        "threshold": round(float(thresholds[best]), 4),
        "auc": round(float(roc_auc_score(labels, scores)), 4),
        "written_turns": len(rows),
        "true_positive_rate": round(float(tpr[best]), 4),
        "false_positive_rate": round(float(fpr[best]), 4),
    }


def question_as_hint(examples: list[dict], coverage: KeyPointCoverage, threshold: float) -> float | None:
    """The share of prompts with a hint point where the asked question itself, read as the hint,
    already counts as targeting it: the floor a hint that adds nothing reaches on this measure."""
    rows = [e["facts"] for e in examples if e["facts"]["hint"]]
    if not rows:
        return None
    asked, points = coverage.embed([f["question"] for f in rows]), coverage.embed([f["hint"] for f in rows])
    return round(float(((asked * points).sum(1) >= threshold).mean()), 4)


def hint_targeting_by_writer(judgements: list[dict], guard_hint: list[bool]) -> dict[str, dict]:
    """Hint targeting of the served turns apart by who wrote the hint question: the model, or the
    guard (which quotes the asked question and names no point)."""
    out = {}
    for writer, by_guard in (("model", False), ("guard", True)):
        hits = [
            j["hint_targeting"]
            for j, g in zip(judgements, guard_hint, strict=True)
            if g == by_guard and j["hint_targeting"] is not None
        ]
        out[writer] = {"turns": len(hits), "rate": round(float(np.mean(hits)), 4) if hits else None}
    return out


def turn_metrics(
    examples: list[dict],
    replies: list[str],
    coverage: KeyPointCoverage,
    topic_material: dict[str, np.ndarray],
    on_topic_threshold: float,
    hint_threshold: float,
) -> tuple[dict, list[dict]]:
    """Rates over all examples (and per topic), and the per-example judgements behind them."""
    parsed = [closing_question(r) for r in replies]
    questions, formed = [q for q, _ in parsed], [f for _, f in parsed]
    facts = [e["facts"] for e in examples]
    q_vectors = coverage.embed([q or "-" for q in questions])
    hint_vectors = coverage.embed([f["hint"] or "-" for f in facts])
    reply_vectors = coverage.embed([r or "-" for r in replies])
    target_vectors = coverage.embed([e["target"] for e in examples])
    prompts = [" ".join(m["content"] for m in e["messages"]) for e in examples]

    judgements = []
    for i, (e, f, reply) in enumerate(zip(examples, facts, replies, strict=True)):
        judgements.append(
            {
                "topic": e["topic"],
                "well_formed": formed[i],
                "leak": any(leaks(reply, p, f["question"]) for p in f["missed"]) if f["missed"] else None,
                "fact_leak": (
                    bool(leaked_points(reply, f["missed"], f["question"], f["answer"]))
                    if f["missed"]
                    else None
                ),
                "hint_targeting": (
                    bool(questions[i]) and float(q_vectors[i] @ hint_vectors[i]) >= hint_threshold
                    if f["hint"]
                    else None
                ),
                "specificity": (
                    refers_to_answer(first_sentence(reply), f)
                    if f["verdict"] in ("complete", "partial")
                    else None
                ),
                "similarity": float(reply_vectors[i] @ target_vectors[i]),
                "on_topic": bool(questions[i])
                and float((topic_material[e["topic"]] @ q_vectors[i]).max()) >= on_topic_threshold,
                "no_invented_score": not invented_numbers(reply, prompts[i]),
                "words": len(reply.split()),
            }
        )
    rates = _rates(judgements)
    rates["mean_words"] = round(float(np.mean([j["words"] for j in judgements])), 2)
    by_topic = defaultdict(list)
    for j in judgements:
        by_topic[j["topic"]].append(j)
    rates["per_topic"] = {
        topic: {"turns": len(rows), **{k: v for k, v in _rates(rows).items() if k in PER_TOPIC}}
        for topic, rows in sorted(by_topic.items())
    }
    return rates, judgements


def _rates(judgements: list[dict]) -> dict[str, float | None]:
    rates: dict[str, float | None] = {}
    for key in RATES:
        values = [j[key] for j in judgements if j[key] is not None]
        # None, not NaN, when no turn applies: JSON has no NaN
        rates[key] = round(float(np.mean(values)), 4) if values else None
    return rates


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
