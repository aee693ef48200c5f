"""DVC stage `prepare`: raw sources -> validated records, fixed-seed splits and a data report.

Reads only the `prepare` section of configs/data.yaml. Writes
  data/processed/{questions,answers,bank}.parquet   validated records (see mockmentor/records.py)
  data/splits/{ua,uq,bank}.parquet                  split membership; later stages read only these
  data/report.json                                  counts, score histogram, grader agreement
  data/plots/score_histogram.png
and logs the report to an MLflow run.
"""

from __future__ import annotations

import json
from dataclasses import asdict, field
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic.dataclasses import dataclass
from scipy.stats import pearsonr
from sklearn.model_selection import GroupKFold

from mockmentor.config import STRICT, load_section

from . import banks, mohler

SPLITS = ("train", "val", "test")


@dataclass(config=STRICT)
class PrepareConfig:
    raw_dir: Path = field(metadata={"help": "folder with the copied raw sources"})
    processed_dir: Path = field(metadata={"help": "output folder for validated records"})
    splits_dir: Path = field(metadata={"help": "output folder for split membership"})
    report: Path = field(metadata={"help": "output data report (a DVC metric)"})
    plots_dir: Path = field(metadata={"help": "output folder for plots"})
    seed: int = field(metadata={"help": "seed of every split"})
    keep_selection_questions: bool = field(metadata={"help": "keep Mohler's six '#' questions"})
    ua_fractions: tuple[float, float, float] = field(metadata={"help": "train/val/test per question"})
    uq_folds: int = field(metadata={"help": "K of the grouped K-fold over questions"})
    bank_fractions: tuple[float, float, float] = field(metadata={"help": "train/val/test per topic"})
    agreement_assignments: list[int] = field(metadata={"help": "assignments for grader agreement"})

    def __post_init__(self) -> None:
        for name in ("ua_fractions", "bank_fractions"):
            fractions = getattr(self, name)
            if min(fractions) < 0 or abs(sum(fractions) - 1.0) > 1e-6:
                raise ValueError(f"{name} must be three non-negative fractions summing to 1")
        if self.uq_folds < 2:
            raise ValueError("uq_folds must be at least 2")


def split_groups(ids: pd.Series, groups: pd.Series, fractions: tuple[float, ...], seed: int) -> pd.Series:
    """train/val/test for each id, cutting every group by `fractions` after a seeded shuffle."""
    rng = np.random.default_rng(seed)
    labels = pd.Series(index=ids.index, dtype=object)
    for _, members in ids.groupby(groups, sort=True):
        order = rng.permutation(members.sort_values().index.to_numpy())
        n_val, n_test = (round(len(order) * fraction) for fraction in fractions[1:])
        n_train = len(order) - n_val - n_test
        labels[order[:n_train]] = "train"
        labels[order[n_train : n_train + n_val]] = "val"
        labels[order[n_train + n_val :]] = "test"
    return labels


def uq_folds(question_ids: pd.Series, folds: int, seed: int) -> pd.DataFrame:
    """Unseen-question folds: every question's answers fall in exactly one test fold."""
    questions = pd.Series(sorted(question_ids.unique()))
    splitter = GroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    fold_of = {}
    for fold, (_, test) in enumerate(splitter.split(questions, groups=questions)):
        fold_of |= dict.fromkeys(questions.iloc[test], fold)
    return pd.DataFrame({"question_id": questions, "fold": questions.map(fold_of).astype(int)})


def grader_agreement(answers: pd.DataFrame, assignments: list[int]) -> dict[str, float]:
    rows = answers[answers["assignment"].isin(assignments)]
    r, _ = pearsonr(rows["grader1"], rows["grader2"])
    return {
        "pearson": round(float(r), 4),
        "rmse": round(float(np.sqrt(np.mean((rows["grader1"] - rows["grader2"]) ** 2))), 4),
        "exact_agreement": round(float((rows["grader1"] == rows["grader2"]).mean()), 4),
        "rows": len(rows),
    }


def plot_scores(answers: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    bins = np.arange(0, 5.5, 0.5) - 0.25
    ax.hist(
        [answers["grader1"], answers["grader2"], answers["score"]],
        bins=np.append(bins, 5.25),
        label=["grader 1 (TA)", "grader 2", "gold average"],
    )
    ax.set(xlabel="score (0–5)", ylabel="answers", title="Mohler 2011: human scores")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(config_path: Path = Path("configs/data.yaml")) -> dict:
    config = load_section(config_path, "prepare", PrepareConfig)

    release = config.raw_dir / "mohler2011"
    mohler_questions = mohler.load_questions(release)
    all_answers = mohler.load_answers(release, [item.question.id for item in mohler_questions])
    kept = [q for q in mohler_questions if config.keep_selection_questions or not q.ignored_in_paper]
    kept_ids = {item.question.id for item in kept}
    bank_questions, bank_dropped = banks.load_bank_questions(config.raw_dir / "interview-banks")

    questions = pd.DataFrame([item.question.model_dump() | {"assignment": item.assignment} for item in kept])
    release_answers = pd.DataFrame([answer.model_dump() for answer in all_answers])
    release_answers["assignment"] = release_answers["question_id"].map(
        {item.question.id: item.assignment for item in mohler_questions}
    )
    answers = release_answers[release_answers["question_id"].isin(kept_ids)].reset_index(drop=True)
    bank = pd.DataFrame([question.model_dump() for question in bank_questions])

    ua = answers[["id", "question_id"]].assign(
        split=split_groups(answers["id"], answers["question_id"], config.ua_fractions, config.seed)
    )
    uq = uq_folds(answers["question_id"], config.uq_folds, config.seed)
    bank_split = bank[["id", "topic"]].assign(
        split=split_groups(bank["id"], bank["topic"], config.bank_fractions, config.seed)
    )

    for folder in (config.processed_dir, config.splits_dir, config.plots_dir):
        folder.mkdir(parents=True, exist_ok=True)
    for frame, path in [
        (questions, config.processed_dir / "questions.parquet"),
        (answers, config.processed_dir / "answers.parquet"),
        (bank, config.processed_dir / "bank.parquet"),
        (ua, config.splits_dir / "ua.parquet"),
        (uq, config.splits_dir / "uq.parquet"),
        (bank_split, config.splits_dir / "bank.parquet"),
    ]:
        frame.to_parquet(path, index=False)

    uq_answers = answers["question_id"].map(uq.set_index("question_id")["fold"])
    histogram = answers["score"].round(2).value_counts().sort_index()
    report = {
        "release": {"mohler2011": {"questions": len(mohler_questions), "answers": len(all_answers)}},
        "sources": {
            "mohler2011": {"questions": len(questions), "answers": len(answers)},
            **{
                source: {"questions": int(count), "dropped_without_answer": bank_dropped.get(source, 0)}
                for source, count in bank["source"].value_counts().sort_index().items()
            },
        },
        "topics": {
            str(k): int(v)
            for k, v in pd.concat([questions, bank])["topic"].value_counts().sort_index().items()
        },
        "splits": {
            "ua": {split: int((ua["split"] == split).sum()) for split in SPLITS},
            "uq": {
                f"fold{fold}": {
                    "questions": int((uq["fold"] == fold).sum()),
                    "answers": int((uq_answers == fold).sum()),
                }
                for fold in range(config.uq_folds)
            },
            "bank": {split: int((bank_split["split"] == split).sum()) for split in SPLITS},
        },
        "score_histogram": {f"{score:g}": int(count) for score, count in histogram.items()},
        "score_mean": round(float(answers["score"].mean()), 4),
        # The human ceiling: on the release's rows (as published) and on the rows we keep.
        "grader_agreement": {
            "release": grader_agreement(release_answers, config.agreement_assignments),
            "kept": grader_agreement(answers, config.agreement_assignments),
        },
    }
    config.report.parent.mkdir(parents=True, exist_ok=True)
    config.report.write_text(json.dumps(report, indent=2) + "\n")
    plot_scores(answers, config.plots_dir / "score_histogram.png")

    from mockmentor.tracking import flatten, stage_run

    with stage_run("prepare", asdict(config)) as _:
        import mlflow

        mlflow.log_metrics(flatten({key: report[key] for key in ("sources", "splits", "grader_agreement")}))
        mlflow.log_artifact(str(config.report))
        mlflow.log_artifact(str(config.plots_dir / "score_histogram.png"))
    return report
