"""Shared fixtures. Tests run the real code on the real data in data/raw.

MLflow runs made by tests go to a throw-away store so they never mix with the user's
runs; model weights use the normal cache (MOCKMENTOR_CACHE_DIR or the user cache), which
a fresh machine fills once.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

_MLFLOW_DIR = Path(tempfile.mkdtemp(prefix="mockmentor-test-mlflow-"))
os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{_MLFLOW_DIR / 'mlflow.db'}"
os.environ["MOCKMENTOR_MLFLOW_ARTIFACT_ROOT"] = str(_MLFLOW_DIR / "artifacts")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("BENTOML_DO_NOT_TRACK", "true")
# Tests never touch the user's interview database.
os.environ["MOCKMENTOR_DATABASE_URL"] = f"sqlite:///{_MLFLOW_DIR / 'interviews.db'}"
POSTGRES_URL = os.environ.get(
    "MOCKMENTOR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

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


@pytest.fixture(scope="session")
def built_dialogues(prepared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `build_dialogues` stage run on the real records into a temporary folder."""
    import yaml

    from mockmentor.data.build_dialogues import main

    folder = tmp_path_factory.mktemp("dialogues")
    config = yaml.safe_load((REPO / "configs/interviewer.yaml").read_text())["build_dialogues"]
    config |= {
        "processed_dir": str(prepared_data / "processed"),
        "splits_dir": str(prepared_data / "splits"),
        "output_dir": str(folder / "dialogues"),
        "report": str(folder / "report.json"),
        "collected_turns": str(folder / "no-collected-turns.jsonl"),
    }
    (folder / "config.yaml").write_text(yaml.safe_dump({"build_dialogues": config}))
    main(folder / "config.yaml")
    return folder


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run, dropped afterwards.

    Skips when no server is reachable, unless MOCKMENTOR_REQUIRE_POSTGRES=1 (set by .ci/run),
    where an unreachable server fails the run instead.
    """
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"mockmentor_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as err:
        if os.environ.get("MOCKMENTOR_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL required but unreachable at {POSTGRES_URL}: {err}")
        pytest.skip(f"no PostgreSQL server reachable at {POSTGRES_URL}")
    yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using this runs on both databases."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'interviews.db'}"
    return request.getfixturevalue("postgres_url")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_MLFLOW_DIR, ignore_errors=True)
