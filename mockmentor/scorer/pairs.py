"""Rows for the answer scorer: (question, reference, answer) -> human score, with splits.

Reads only what `prepare` and `build_robustness` wrote. Every row says what it is (`kind`):
  answer       a real student answer with its human grades (UA split, UQ fold)
  augment      the reference answer itself as full marks, or an answer to another question
               paired with this question's reference as zero: they teach the scale's ends
               without tying the model to question identities
  robust:<k>   an answer that does not answer (data/robustness), graded zero
Augmentation and robustness rows carry their question's fold, so a model fitted without a
fold never sees that fold's questions in any form.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = ["id", "question_id", "question", "reference", "answer", "score", "grader1", "grader2", "source"]


def load_pairs(processed_dir: Path, splits_dir: Path) -> pd.DataFrame:
    """Every graded answer with its question, reference, UA split and UQ fold (kind "answer")."""
    answers = pd.read_parquet(processed_dir / "answers.parquet")
    questions = pd.read_parquet(processed_dir / "questions.parquet").set_index("id")
    frame = answers.assign(
        question=answers["question_id"].map(questions["text"]),
        reference=answers["question_id"].map(questions["reference_answer"]),
        answer=answers["text"],
    )[COLUMNS]
    ua = pd.read_parquet(splits_dir / "ua.parquet").set_index("id")["split"]
    uq = pd.read_parquet(splits_dir / "uq.parquet").set_index("question_id")["fold"]
    return frame.assign(split=frame["id"].map(ua), fold=frame["question_id"].map(uq), kind="answer")


def load_robustness(robustness_dir: Path, processed_dir: Path) -> pd.DataFrame:
    """The robustness set (answers that do not answer), as scorer rows with score 0."""
    robust = pd.read_parquet(robustness_dir / "answers.parquet")
    questions = pd.read_parquet(processed_dir / "questions.parquet").set_index("id")
    return pd.DataFrame(
        {
            "id": robust["id"],
            "question_id": robust["question_id"],
            "question": robust["question_id"].map(questions["text"]),
            "reference": robust["question_id"].map(questions["reference_answer"]),
            "answer": robust["answer"],
            "score": robust["score"].astype(float),
            "grader1": robust["score"].astype(float),
            "grader2": robust["score"].astype(float),
            "source": "robustness",
            "split": "robust",
            "fold": robust["fold"],
            "kind": "robust:" + robust["kind"],
        }
    )


def scorer_rows(
    pairs: pd.DataFrame, robust: pd.DataFrame, negatives: int, reference: bool, seed: int
) -> pd.DataFrame:
    """Everything the scorer is fitted and measured on, indexed by row id: the real answers (all
    splits), the robustness rows, and the augmentation built from the UA training answers.

    `folds` lists every UQ fold a row draws on (its question's, and for a cross-question
    negative also the fold its answer came from): a model fitted without fold f uses no row
    that mentions f."""
    train = pairs[pairs["split"] == "train"]
    extra = augment(train, negatives, seed).iloc[len(train) :]
    if not reference:
        extra = extra[extra["source"] != "augment:reference"]
    fold = pairs.drop_duplicates("question_id").set_index("question_id")["fold"]
    source_fold = extra["fold"]  # augment copied the borrowed answer's own fold
    extra = extra.assign(split="augment", fold=extra["question_id"].map(fold), kind="augment")
    rows = pd.concat([pairs, robust, extra], ignore_index=True)
    borrowed = pd.concat([pairs["fold"], robust["fold"], source_fold], ignore_index=True)
    rows["folds"] = [sorted({a, b}) for a, b in zip(rows["fold"], borrowed, strict=True)]
    return rows.set_index("id", drop=False)


def augment(rows: pd.DataFrame, negatives_per_question: int, seed: int) -> pd.DataFrame:
    """`rows` plus reference-as-answer (score 5) and cross-question negatives (score 0)."""
    rng = np.random.default_rng(seed)
    per_question = rows.drop_duplicates("question_id")
    full_marks = per_question.assign(
        id=per_question["question_id"] + ":reference",
        answer=per_question["reference"],
        score=5.0,
        grader1=5.0,
        grader2=5.0,
        source="augment:reference",
    )
    negatives = []
    for question in per_question.itertuples():
        others = rows[rows["question_id"] != question.question_id]
        if others.empty:
            break
        picked = others.iloc[
            rng.choice(len(others), size=min(negatives_per_question, len(others)), replace=False)
        ]
        negatives.append(
            picked.assign(
                id=picked["id"] + f":vs:{question.question_id}",
                question_id=question.question_id,
                question=question.question,
                reference=question.reference,
                score=0.0,
                grader1=0.0,
                grader2=0.0,
                source="augment:other-question",
            )
        )
    return pd.concat([rows, full_marks, *negatives], ignore_index=True)


def load_collected(path: Path | None, processed_dir: Path) -> tuple[pd.DataFrame, dict[str, int]]:
    """Candidates' own grades exported by `collect_ratings`, as training rows tagged "collected",
    and counts of what was kept and why the rest was not.

    Only the training split gets them: validation and every evaluation stay on human graders.
    Dropped, and counted: a repeated row id; the same answer to the same question again (a
    resubmitted answer counts once, with its first grade); an answer whose text is one of the
    human-graded answers (a candidate reading out a Mohler answer would otherwise put a test
    answer into training); a question no longer in the records. A malformed line stops
    training with its file and line (RecordError).
    """
    from mockmentor.records import Answer, read_records, text_key

    counts = {"read": 0, "kept": 0, "duplicate": 0, "graded_answer_text": 0, "unknown_question": 0}
    if path is None or not path.is_file():
        return pd.DataFrame(columns=[*COLUMNS, "split", "fold"]), counts
    questions = (
        pd.concat([pd.read_parquet(processed_dir / name) for name in ("questions.parquet", "bank.parquet")])
        .drop_duplicates("id")
        .set_index("id")
    )
    graded = {text_key(text) for text in pd.read_parquet(processed_dir / "answers.parquet")["text"]}
    first: dict[tuple[str, str], Answer] = {}  # (question, text) -> its first grade
    seen_ids: set[str] = set()
    for _, answer in read_records(path, Answer):
        counts["read"] += 1
        key = (answer.question_id, text_key(answer.text))
        if key[1] in graded:
            counts["graded_answer_text"] += 1
        elif answer.question_id not in questions.index:
            counts["unknown_question"] += 1
        elif answer.id in seen_ids or key in first:
            counts["duplicate"] += 1
        else:
            first[key] = answer
        seen_ids.add(answer.id)
    rows = []
    for answer in first.values():
        question = questions.loc[answer.question_id]
        rows.append(
            {
                "id": answer.id,
                "question_id": answer.question_id,
                "question": question["text"],
                "reference": question["reference_answer"],
                "answer": answer.text,
                "score": answer.score,
                "grader1": None,
                "grader2": None,
                "source": "collected",
                "split": "train",
                "fold": -1,
            }
        )
    counts["kept"] = len(rows)
    return pd.DataFrame(rows, columns=[*COLUMNS, "split", "fold"]), counts


def load_rows(
    processed_dir: Path,
    splits_dir: Path,
    robustness_dir: Path,
    negatives: int,
    reference: bool,
    seed: int,
    collected: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every row (real answers of all splits, robustness, augmentation) and the fitting subset:
    the UA training answers (plus `collected` grades, training only) and the rest but no
    validation or test answer."""
    pairs = load_pairs(processed_dir, splits_dir)
    if collected is not None and len(collected):
        pairs = pd.concat([pairs, collected.assign(kind="answer")], ignore_index=True)
    rows = scorer_rows(pairs, load_robustness(robustness_dir, processed_dir), negatives, reference, seed)
    return rows, rows[(rows["kind"] != "answer") | (rows["split"] == "train")]


def all_questions(processed_dir: Path) -> pd.DataFrame:
    """Every question the service may ask, the course's and the interview banks': `question` (its
    text, each once) and `reference` (its reference answer)."""
    frames = [pd.read_parquet(processed_dir / name) for name in ("questions.parquet", "bank.parquet")]
    known = pd.concat(frames).drop_duplicates("text")
    return pd.DataFrame({"question": known["text"], "reference": known["reference_answer"]}).reset_index(
        drop=True
    )
