"""The MLflow model registry: register trained models, promote champions, fetch them.

A newly trained model is always registered as a new version, carrying its validation
metric as a tag; the alias `champion` moves to it only when that metric beats the current
champion's, so serving never silently picks up a worse model.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .settings import get_settings
from .tracking import configure_mlflow

CHAMPION = "champion"


@dataclass(frozen=True)
class Registration:
    version: str
    promoted: bool
    previous_champion: str | None
    previous_value: float | None


def register(
    name: str,
    model_dir: Path,
    python_model: Any,
    metric: str,
    value: float,
    higher_is_better: bool = True,
    measured_on: str | None = None,
) -> Registration:
    """Log `model_dir` as a pyfunc model of the active run, register it, maybe promote it.

    `measured_on` fingerprints the data behind `value` (e.g. a hash of the validation set);
    a champion measured on other data has no comparable metric and is replaced.
    """
    import mlflow

    client = mlflow.MlflowClient()
    info = mlflow.pyfunc.log_model(
        name=name,
        python_model=python_model,
        artifacts={"model": str(model_dir)},
        pip_requirements=["mockmentor"],
        registered_model_name=name,
    )
    version = str(info.registered_model_version)
    client.set_model_version_tag(name, version, metric, f"{value:.6f}")
    if measured_on is not None:
        client.set_model_version_tag(name, version, "measured_on", measured_on)

    previous, previous_value = None, None
    try:
        champion = client.get_model_version_by_alias(name, CHAMPION)
        previous = champion.version
        previous_value = float(champion.tags.get(metric, "nan"))
        if champion.tags.get("measured_on") != measured_on:
            previous_value = float("nan")  # measured on other data: not comparable
    except mlflow.exceptions.MlflowException:
        pass  # no champion yet
    better = (
        previous_value is None
        or math.isnan(previous_value)  # the old champion has no comparable metric
        or (value > previous_value if higher_is_better else value < previous_value)
    )
    if better:
        client.set_registered_model_alias(name, CHAMPION, version)
    mlflow.set_tags({f"registry.{name}.version": version, f"registry.{name}.champion": str(better).lower()})
    return Registration(version, better, previous, previous_value)


def champion_dir(name: str) -> tuple[Path, str]:
    """The champion's model folder (downloaded once into the cache) and its version."""
    import mlflow

    configure_mlflow()
    client = mlflow.MlflowClient()
    try:
        version = client.get_model_version_by_alias(name, CHAMPION).version
    except mlflow.exceptions.MlflowException:
        raise LookupError(
            f"no '{name}@{CHAMPION}' in the MLflow registry at {get_settings().mlflow_tracking_uri}; "
            "train one first with `dvc repro`"
        ) from None
    # Keyed by store too: two stores (e.g. a test store) can both hold a version 1.
    store = hashlib.sha256(get_settings().mlflow_tracking_uri.encode()).hexdigest()[:12]
    target = get_settings().cache_dir / "registry" / store / name / str(version)
    if not (target / "MLmodel").is_file():
        target.mkdir(parents=True, exist_ok=True)
        mlflow.artifacts.download_artifacts(f"models:/{name}/{version}", dst_path=str(target))
    # pyfunc keeps a logged folder under artifacts/ by its original name
    [model] = [path for path in (target / "artifacts").iterdir() if path.is_dir()]
    return model, str(version)
