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
