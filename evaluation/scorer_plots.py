"""Pictures of how the scorer agrees with human graders (PNG, for DVC plots and MLflow)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt  # picks the Agg backend on a headless machine
import numpy as np
import pandas as pd


def scatter(frame: pd.DataFrame, methods: list[str], path: Path, title: str) -> None:
    """Predicted vs human score per method, with a little jitter so ties stay visible."""
    rng = np.random.default_rng(0)
    fig, axes = plt.subplots(1, len(methods), figsize=(3.2 * len(methods), 3.3), sharey=True)
    for ax, method in zip(np.atleast_1d(axes), methods, strict=True):
        human = frame["score"] + rng.uniform(-0.08, 0.08, len(frame))
        ax.scatter(human, frame[method], s=6, alpha=0.4)
        ax.plot([0, 5], [0, 5], color="grey", lw=1)
        ax.set(title=method, xlabel="human score", xlim=(-0.3, 5.3), ylim=(-0.3, 5.3))
    np.atleast_1d(axes)[0].set_ylabel("predicted score")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def calibration(frame: pd.DataFrame, methods: list[str], path: Path, title: str) -> None:
    """Mean human score within bins of predicted score: on the diagonal when calibrated."""
    fig, ax = plt.subplots(figsize=(4.5, 4))
    bins = np.arange(0, 5.5, 0.5)
    for method in methods:
        band = pd.cut(frame[method], bins, include_lowest=True)
        means = frame.groupby(band, observed=True).agg(pred=(method, "mean"), human=("score", "mean"))
        ax.plot(means["pred"], means["human"], marker="o", label=method)
    ax.plot([0, 5], [0, 5], color="grey", lw=1)
    ax.set(xlabel="predicted score (bin mean)", ylabel="human score (bin mean)", title=title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def per_question_error(frame: pd.DataFrame, method: str, path: Path, title: str) -> None:
    """RMSE of each question, worst first: where the scorer needs help."""
    errors = (frame[method] - frame["score"]).pow(2).groupby(frame["question_id"]).mean().pow(0.5)
    errors = errors.sort_values(ascending=False)
    fig, ax = plt.subplots(figsize=(12, 3.5))
    ax.bar(range(len(errors)), errors.to_numpy())
    ax.set_xticks(
        range(len(errors)), [q.removeprefix("mohler-") for q in errors.index], rotation=90, fontsize=6
    )
    ax.set(ylabel="RMSE (0–5)", title=title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def robustness(report: dict, methods: list[str], path: Path) -> None:
    """Mean score of each kind of non-answer (unseen questions), per method: lower is right."""
    table = report["robustness"]
    kinds = [k for k in table[methods[0]] if k != "reference_answer"]
    fig, ax = plt.subplots(figsize=(9, 3.6))
    width = 0.8 / len(methods)
    for n, method in enumerate(methods):
        ax.bar(
            np.arange(len(kinds)) + n * width, [table[method][k]["mean"] for k in kinds], width, label=method
        )
    ax.axhline(1.0, color="grey", lw=1, ls="dotted")
    ax.set_xticks(np.arange(len(kinds)) + 0.4 - width / 2, [k.replace("_", " ") for k in kinds], fontsize=8)
    ax.set(ylabel="mean score (0–5)", ylim=(0, 5), title="answers that do not answer, unseen questions")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def all_plots(
    frames: dict[str, pd.DataFrame], pooled: pd.DataFrame, report: dict, methods: list[str], shipped: str,
    folder: Path,
) -> list[Path]:  # fmt: skip
    """Every picture of the evaluation: per protocol scatter, calibration, per-question error;
    and the robustness bars."""
    folder.mkdir(parents=True, exist_ok=True)
    titles = {"ua": "unseen answers (test)", "uq": "unseen questions (pooled folds)"}
    paths = []
    for protocol, frame in frames.items():
        names = [
            folder / f"{protocol}_{kind}.png" for kind in ("scatter", "calibration", "per_question_error")
        ]
        scatter(frame, methods, names[0], titles[protocol])
        calibration(frame, methods, names[1], titles[protocol])
        per_question_error(frame, shipped, names[2], f"{shipped}: RMSE per question, {titles[protocol]}")
        paths += names
    paths.append(folder / "robustness.png")
    robustness(report, methods, paths[-1])
    return paths
