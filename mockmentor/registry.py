"""The MLflow model registry: register trained models, promote champions, fetch them.

A newly trained model is always registered as a new version, carrying its validation
metric as a tag; the alias `champion` moves to it only when that metric beats the current
champion's, so serving never silently picks up a worse model.

Each version also carries the SHA-256 of every file it was registered with (tag
`files_sha256`, kept in the tracking database, apart from the artifact store). A champion
whose files no longer match is downloaded again once, then refused with a message naming
the file: a corrupted cache heals itself, a corrupted artifact store is never served.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mockmentor.model_assets import ModelAssetError, is_disk_full, sha256_of
from mockmentor.settings import get_settings
from mockmentor.tracking import configure_mlflow

CHAMPION = "champion"
FILES_TAG = "files_sha256"


class ModelNotFound(LookupError):
    """No champion of that name in the registry; the message says how to train one."""


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
    client.set_model_version_tag(name, version, FILES_TAG, json.dumps(file_digests(model_dir)))
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


def file_digests(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under `folder`, by path relative to it."""
    return {
        path.relative_to(folder).as_posix(): sha256_of(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def champion_dir(name: str) -> tuple[Path, str]:
    """The champion's model folder (downloaded once into the cache, checked against the
    digests recorded at registration on every call) and its version."""
    import mlflow

    configure_mlflow()
    client = mlflow.MlflowClient()
    try:
        champion = client.get_model_version_by_alias(name, CHAMPION)
    except mlflow.exceptions.MlflowException:
        raise ModelNotFound(
            f"no '{name}@{CHAMPION}' in the MLflow registry at {get_settings().mlflow_tracking_uri}; "
            "train one first with `dvc repro`"
        ) from None
    version = str(champion.version)
    pinned = json.loads(champion.tags.get(FILES_TAG, "{}"))
    # Keyed by store too: two stores (e.g. a test store) can both hold a version 1.
    store = hashlib.sha256(get_settings().mlflow_tracking_uri.encode()).hexdigest()[:12]
    target = get_settings().cache_dir / "registry" / store / name / version
    for attempt in ("cached", "downloaded"):
        if not (target / "MLmodel").is_file():
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            try:
                mlflow.artifacts.download_artifacts(f"models:/{name}/{version}", dst_path=str(target))
            except BaseException as err:
                shutil.rmtree(target, ignore_errors=True)  # never leave a half-downloaded model
                if is_disk_full(err):
                    raise ModelAssetError(
                        f"no space left to download '{name}' v{version} into the model cache "
                        f"{target.parent}; free some space or set MOCKMENTOR_CACHE_DIR to a larger disk"
                    ) from None
                raise
        # pyfunc keeps a logged folder under artifacts/ by its original name
        [model] = [path for path in (target / "artifacts").iterdir() if path.is_dir()]
        bad = [
            file
            for file, digest in pinned.items()
            if not (model / file).is_file() or sha256_of(model / file) != digest
        ]
        if not bad:
            return model, version
        if attempt == "cached":
            shutil.rmtree(target)  # a damaged cache copy: fetch it again from the store
    raise ModelAssetError(
        f"registered model '{name}' v{version} refused: {', '.join(bad)} "
        f"{'does' if len(bad) == 1 else 'do'} not match the SHA-256 recorded when it was registered; "
        f"the artifact store of {get_settings().mlflow_tracking_uri} is damaged: restore it or retrain "
        "with `dvc repro`"
    )
