"""Shared fixtures. Tests run the real code on the real data in data/raw.

The voice service runs as `bentoml serve` in its own process, once per test session and
database. Its scorer is trained here with a tiny recipe; its interviewer is the packaged
SmolLM2 base (the tuned one takes 15 minutes to train), whose replies mostly break the
turn contract, so the service's template guard is exercised too.

MLflow runs made by tests go to a throw-away store so they never mix with the user's
runs; model weights use the normal cache (MOCKMENTOR_CACHE_DIR or the user cache), which
a fresh machine fills once.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import create_engine, text

from mockmentor.serving.process import free_port, start_service, stop_service

_MLFLOW_DIR = Path(tempfile.mkdtemp(prefix="mockmentor-test-mlflow-"))
os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{_MLFLOW_DIR / 'mlflow.db'}"
os.environ["MOCKMENTOR_MLFLOW_ARTIFACT_ROOT"] = str(_MLFLOW_DIR / "artifacts")
# Tests never touch the user's interview database.
os.environ["MOCKMENTOR_DATABASE_URL"] = f"sqlite:///{_MLFLOW_DIR / 'interviews.db'}"
POSTGRES_URL = os.environ.get(
    "MOCKMENTOR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))  # tests drive the same audit and drill code as `make fuzz`
RAW = REPO / "data" / "raw"
SPEECH = RAW / "speech"
# Small limits so the over-limit cases stay cheap to send.
MAX_AUDIO_BYTES = 2_000_000
MAX_AUDIO_SECONDS = 30
MAX_LIVE_ANSWERS = 2  # live answer sockets the test service listens to at once


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture()
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Set deployment variables (MOCKMENTOR_*, MLFLOW_*) for one test: the project's cached
    settings are read again now and after the test, so nothing leaks into the next one."""
    from mockmentor.settings import get_settings

    def use(**variables: str) -> None:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()

    yield use
    get_settings.cache_clear()


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
def robustness_data(prepared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `build_robustness` stage on the real records, into a temporary folder."""
    from mockmentor.data.build_robustness import main

    folder = tmp_path_factory.mktemp("robustness")
    recipe = stage_recipe(
        folder, "data.yaml", "build_robustness",
        processed_dir=prepared_data / "processed", splits_dir=prepared_data / "splits",
        phrases=RAW / "robustness/phrases.yaml", output_dir=folder / "robustness",
        report=folder / "report.json",
    )  # fmt: skip
    main(recipe)
    return folder / "robustness"


@pytest.fixture(scope="session")
def coding_problems(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `build_coding_problems` stage on the real HumanEval file, into a temporary folder."""
    from mockmentor.data.build_coding_problems import main

    folder = tmp_path_factory.mktemp("coding")
    recipe = stage_recipe(
        folder, "data.yaml", "build_coding_problems",
        source=RAW / "humaneval/HumanEval.jsonl.gz", output=folder / "problems.jsonl",
        report=folder / "report.json",
    )  # fmt: skip
    main(recipe)
    return folder / "problems.jsonl"


@pytest.fixture(scope="session")
def sandbox() -> object:
    """The real sandbox with the service's limits. Skips on a machine without bubblewrap,
    unless MOCKMENTOR_REQUIRE_SANDBOX=1 (set by .ci/run, whose `make test` installs it)."""
    from mockmentor.coding.sandbox import Sandbox, SandboxUnavailable, load_sandbox_limits

    try:
        box = Sandbox(load_sandbox_limits(REPO / "configs/serving.yaml"))
        box.preflight()
    except SandboxUnavailable as err:
        if os.environ.get("MOCKMENTOR_REQUIRE_SANDBOX") == "1":
            pytest.fail(f"MOCKMENTOR_REQUIRE_SANDBOX=1 but {err}")
        pytest.skip(str(err))
    return box


def stage_recipe(folder: Path, recipe: str, stage: str, **paths: Path) -> Path:
    """configs/<recipe>'s section for `stage` with `paths` replaced, written into `folder`."""
    section = yaml.safe_load((REPO / "configs" / recipe).read_text())[stage]
    section |= {name: str(path) for name, path in paths.items()}
    written = folder / recipe
    written.write_text(yaml.safe_dump({stage: section}))
    return written


def tiny_scorer_config(folder: Path, robustness: Path, **recipe: object) -> dict:
    """configs/scorer.yaml with a few encoder steps, writing into `folder`. The trees keep the
    real recipe: they cost seconds, and with fewer of them the detector misses keyword lists."""
    config = yaml.safe_load((REPO / "configs/scorer.yaml").read_text())
    train, evaluate = config["train_scorer"], config["evaluate_scorer"]
    train |= {
        "robustness_dir": str(robustness),
        "output_dir": str(folder / "scorer"),
        "folds_output": str(folder / "scorer_folds.parquet"),
        "metrics": str(folder / "scorer_train.json"),
        "collected_answers": None,
    }
    train["recipe"] |= {"max_steps": 8, "epochs": 1, "negatives_per_question": 1} | recipe
    evaluate |= {
        "robustness_dir": str(robustness),
        "model_dir": str(folder / "scorer"),
        "folds_features": str(folder / "scorer_folds.parquet"),
        "metrics": str(folder / "scorer.json"),
        "plots_dir": str(folder / "plots"),
        "uq_predictions": str(folder / "uq_scores.parquet"),
    }
    return {"train_scorer": train, "evaluate_scorer": evaluate}


@pytest.fixture(scope="session")
def built_dialogues(prepared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `build_dialogues` stage run on the real records into a temporary folder."""
    from mockmentor.data.build_dialogues import main

    folder = tmp_path_factory.mktemp("dialogues")
    recipe = stage_recipe(
        folder, "interviewer.yaml", "build_dialogues",
        processed_dir=prepared_data / "processed", splits_dir=prepared_data / "splits",
        output_dir=folder / "dialogues", report=folder / "report.json",
        collected_turns=folder / "no-collected-turns.jsonl",
    )  # fmt: skip
    main(recipe)
    return folder


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped afterwards.

    Skips when no server is reachable, unless MOCKMENTOR_REQUIRE_POSTGRES=1 (set by .ci/run),
    where an unreachable server fails the run instead.
    """
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
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The interview database on PostgreSQL, for the whole test run."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test using this runs on both databases, each time a new, empty one (what the services
    of other tests wrote to the shared PostgreSQL database must not leak into its counts)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'interviews.db'}"
        return
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(scope="session")
def end_of_turn_rule(prepared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The evaluate_end_of_turn stage on two answers per question (the recipe draws eight)."""
    from mockmentor.evaluation.evaluate_end_of_turn import main as evaluate_end_of_turn

    folder = tmp_path_factory.mktemp("end-of-turn")
    config = yaml.safe_load((REPO / "configs/serving.yaml").read_text())["evaluate_end_of_turn"]
    config |= {
        "processed_dir": str(prepared_data / "processed"),
        "splits_dir": str(prepared_data / "splits"),
        "answers_per_question": 2,
        "rule": str(folder / "end_of_turn.json"),
        "metrics": str(folder / "metrics.json"),
        "plot": str(folder / "end_of_turn.png"),
    }
    (folder / "serving.yaml").write_text(yaml.safe_dump({"evaluate_end_of_turn": config}))
    evaluate_end_of_turn(folder / "serving.yaml")
    return folder / "end_of_turn.json"


@pytest.fixture(scope="session")
def tiny_scorer(robustness_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real scorer trained with a few encoder steps and small trees (the full recipe takes minutes)."""
    from mockmentor.training.train_scorer import main as train_scorer

    folder = tmp_path_factory.mktemp("service-scorer")
    config = tiny_scorer_config(folder, robustness_data)
    config["train_scorer"]["register_as"] = "service-test-scorer"
    (folder / "scorer.yaml").write_text(yaml.safe_dump(config))
    train_scorer(folder / "scorer.yaml")
    return folder / "scorer"


@pytest.fixture(scope="session")
def serving_config(
    tiny_scorer: Path,
    built_dialogues: Path,
    coding_problems: Path,
    end_of_turn_rule: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    config = yaml.safe_load((REPO / "configs/serving.yaml").read_text())
    config["serve"] |= {
        "scorer": str(tiny_scorer),
        "interviewer": "base:interviewer-base",
        "base_coverage_rule": str(built_dialogues / "dialogues/coverage.json"),
        "max_audio_bytes": MAX_AUDIO_BYTES,
        "max_audio_seconds": MAX_AUDIO_SECONDS,
        "questions_per_session": 3,
        "max_pending_answers": 2,
        "max_live_answers": MAX_LIVE_ANSWERS,
        "coding_problems": str(coding_problems),
    }
    config["serve"]["live_answer"]["end_of_turn_rule"] = str(end_of_turn_rule)
    path = tmp_path_factory.mktemp("serving") / "serving.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


class Service:
    def __init__(self, url: str, database_url: str) -> None:
        self.url, self.database_url = url, database_url
        self.http = httpx.Client(base_url=url, timeout=300)

    def post(self, route: str, **kwargs) -> httpx.Response:
        return self.http.post(route, **kwargs)

    def turn_rows(self, session_id: str) -> int:
        engine = create_engine(self.database_url)
        with engine.connect() as connection:
            count = connection.execute(
                text("SELECT count(*) FROM turns WHERE session_id = :s"), {"s": session_id}
            ).scalar_one()
        engine.dispose()
        return count


def _run(serving_config: Path, database_url: str, log: Path) -> Iterator[Service]:
    port = free_port()
    with log.open("wb") as sink:
        process = start_service(port, config=serving_config, database_url=database_url, log=sink)
    try:
        yield Service(f"http://127.0.0.1:{port}", database_url)
    finally:
        stop_service(process)
        assert process.returncode is not None


@pytest.fixture(scope="session")
def service(serving_config: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp("service-sqlite")
    yield from _run(serving_config, f"sqlite:///{folder / 'interviews.db'}", folder / "service.log")


@pytest.fixture(scope="session")
def postgres_service(
    serving_config: Path, postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    yield from _run(serving_config, postgres_url, tmp_path_factory.mktemp("service-pg") / "service.log")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_MLFLOW_DIR, ignore_errors=True)
