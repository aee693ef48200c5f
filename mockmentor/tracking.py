"""MLflow runs for pipeline stages: one run per stage execution, tagged for traceability.

Every run carries the git commit (and whether the tree was dirty) and the DVC stage that
produced it, so a number in the MLflow UI can be traced back to the code and data.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mockmentor import REPO_ROOT
from mockmentor.settings import get_settings

EXPERIMENT = "mockmentor"


def git_commit() -> tuple[str, bool]:
    """(commit sha, dirty) of the repository, or ("unknown", False) outside git."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown", False
    return sha, bool(status.strip())


def flatten(metrics: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """Nested numeric dicts as MLflow metric names: {"ua": {"r": 1}} -> {"ua.r": 1.0}."""
    flat: dict[str, float] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat |= flatten(value, f"{name}.")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            flat[name.replace(" ", "_")] = float(value)
    return flat


def configure_mlflow() -> None:
    """Point MLflow at the configured store and the project's experiment."""
    import mlflow

    settings = get_settings()
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    if mlflow.get_experiment_by_name(EXPERIMENT) is None:
        # A tracking server (http) decides where artifacts go; a database store (SQLite,
        # PostgreSQL) is told: a local folder or an object-store URI.
        server = settings.mlflow_tracking_uri.startswith(("http:", "https:"))
        root = settings.mlflow_artifact_root
        location = None if server else root if "://" in root else Path(root).resolve().as_uri()
        mlflow.create_experiment(EXPERIMENT, artifact_location=location)
    mlflow.set_experiment(EXPERIMENT)


@contextmanager
def stage_run(stage: str, params: Mapping[str, Any]) -> Iterator[Any]:
    """An MLflow run for one execution of a DVC stage, with its params logged."""
    import mlflow

    configure_mlflow()
    commit, dirty = git_commit()
    tags = {"dvc.stage": stage, "git.commit": commit, "git.dirty": str(dirty).lower()}
    with mlflow.start_run(run_name=stage, tags=tags) as run:
        mlflow.log_params({key: str(value)[:500] for key, value in params.items()})
        yield run
