"""The verdict a candidate hears on an unseen question, against the graders' score band.

The plan decides the verdict and the model words it (mockmentor/interviewer/turn.py). In a live
interview the plan's evidence is the scorer's score on a question the scorer never saw, its
off-topic flag, and the key points the coverage rule finds. So the verdict is measured on the
real answers to the held-out questions, each scored by the unseen-question fold of
`evaluate_scorer` (evaluation/predictions/uq_scores.parquet), exactly as the service would plan
it; the label is the graders' mean score cut into the same bands the written turns use. The
two graders' own bands, one against the other, show how reproducible those bands are at all.

One fold is 17 questions, and its kappa moves with the fold: `every_fold` plans the verdicts on
all five folds' answers (each still scored by a scorer that never saw its question), pooled and
fold by fold. The coverage rule's three weights were fitted on the written turns of the training
questions' answers (data/build_dialogues.py: three folds, neither the held-out fold nor the
validation fold), so on those three folds it has seen the writers' judgements of the answers
(never the scorer's scores, which come from the unseen-question folds).
"""

from __future__ import annotations

import pandas as pd
from sklearn.metrics import cohen_kappa_score, confusion_matrix

from mockmentor.interviewer.coverage import CoverageRule, KeyPointCoverage
from mockmentor.interviewer.score_bands import BANDS, band
from mockmentor.interviewer.turn import plan_verdict


def with_verdicts(
    predictions: pd.DataFrame,
    key_points: dict[str, list[str]],
    rule: CoverageRule,
    coverage: KeyPointCoverage,
) -> pd.DataFrame:
    """`predictions` with the service's verdict on each scored answer (`stacked` score,
    `stacked_off_topic` flag) in a `verdict` column: planned once, measured on any subset."""
    points = [key_points[q] for q in predictions["question_id"]]
    similarities = coverage.similarities(predictions["answer"].tolist(), points)
    verdicts = []
    for row, question_points, sims in zip(predictions.itertuples(), points, similarities, strict=True):
        hits = [] if row.stacked_off_topic else rule.covered(sims, row.stacked)
        missed = [p for p, hit in zip(question_points, hits, strict=False) if not hit]
        verdicts.append(plan_verdict(bool(row.stacked_off_topic), missed, float(row.stacked), rule.wrong))
    return predictions.assign(verdict=verdicts)


def verdict_agreement(planned: pd.DataFrame, full_marks: float, wrong: float) -> dict:
    """Cohen's kappa and the confusion of the planned verdicts (`with_verdicts`) against the
    graders' bands (an answer flagged off topic counts as off track, the band a grader would give
    it); `wrong` is the coverage rule's score below which an answer is off track."""
    verdicts = planned["verdict"].tolist()
    called = ["off_track" if v == "off_topic" else v for v in verdicts]
    graders = [band(s, full_marks, wrong) for s in planned["score"]]
    # How far the graders' bands are reproducible at all: one grader's band against the other's.
    one, other = ([band(s, full_marks, wrong) for s in planned[g]] for g in ("grader1", "grader2"))
    return {
        "answers": len(called),
        "questions": int(planned["question_id"].nunique()),
        "cohen_kappa": round(float(cohen_kappa_score(graders, called, labels=list(BANDS))), 4),
        "graders_with_each_other_kappa": round(float(cohen_kappa_score(one, other, labels=list(BANDS))), 4),
        "flagged_off_topic": verdicts.count("off_topic"),
        "confusion": {
            "rows_graders": list(BANDS),
            "columns_planned": list(BANDS),
            "counts": confusion_matrix(graders, called, labels=list(BANDS)).tolist(),
        },
    }


def every_fold(planned: pd.DataFrame, full_marks: float, wrong: float) -> dict:
    """Cohen's kappa of the planned verdicts (`with_verdicts`) on every fold's answers, pooled and
    per fold."""
    pooled = verdict_agreement(planned, full_marks, wrong)
    per_fold = {
        str(fold): verdict_agreement(rows, full_marks, wrong)["cohen_kappa"]
        for fold, rows in planned.groupby("fold")
    }
    return {k: pooled[k] for k in ("answers", "questions", "cohen_kappa")} | {"per_fold_kappa": per_fold}
