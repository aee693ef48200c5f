"""Shared fixtures. Tests run the real code on the real data in data/raw.

MLflow runs made by tests go to a throw-away store so they never mix with the user's
runs; model weights use the normal cache (MOCKMENTOR_CACHE_DIR or the user cache), which
a fresh machine fills once.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

_MLFLOW_DIR = Path(tempfile.mkdtemp(prefix="mockmentor-test-mlflow-"))
os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{_MLFLOW_DIR / 'mlflow.db'}"
os.environ["MOCKMENTOR_MLFLOW_ARTIFACT_ROOT"] = str(_MLFLOW_DIR / "artifacts")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

REPO = Path(__file__).resolve().parent.parent
RAW = REPO / "data" / "raw"


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture()
def mohler_copy(tmp_path: Path) -> Path:
    """A writable copy of the Mohler release, for tests that break it."""
    target = tmp_path / "mohler2011"
    shutil.copytree(RAW / "mohler2011", target)
    return target


@pytest.fixture(scope="session")
def prepared_data() -> Path:
    """data/processed and data/splits, made by the `prepare` stage if a fresh clone lacks them."""
    data = REPO / "data"
    if not (data / "processed/answers.parquet").exists() or not (data / "splits/ua.parquet").exists():
        from mockmentor.data.prepare import main

        cwd = Path.cwd()
        os.chdir(REPO)  # the recipe's paths are relative to the repository, as DVC runs it
        try:
            main(REPO / "configs/data.yaml")
        finally:
            os.chdir(cwd)
    return data


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_MLFLOW_DIR, ignore_errors=True)
