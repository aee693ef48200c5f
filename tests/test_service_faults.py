"""Fault drills: the service killed mid-turn, the database gone for a while, the disk full,
a model file corrupted. Each must end in a clear message and no lost or half-written data.
(bench/fault_drills.py runs the same drills with the real models and reports timings.)"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import Service
from fault_drills import database_outage, flip_a_byte, killed_mid_turn, stored_copy
from typer.testing import CliRunner

from mockmentor.cli import app
from mockmentor.model_assets import sha256_of
from mockmentor.serving.process import free_port, start_service, stop_service

pytestmark = pytest.mark.slow  # the service process and trained models


def test_a_turn_killed_half_way_leaves_nothing_and_the_session_resumes(
    serving_config: Path, tmp_path: Path
) -> None:
    """SIGKILL to the whole service after the transcript event of a streamed answer (the drill of
    `make faults`, here with the test's models)."""
    drill = killed_mid_turn(serving_config, tmp_path)
    assert drill["turn_rows_after_kill"] == 1, drill  # only the opener: nothing half-written
    assert drill["resumed_status"] == 200, drill
    assert drill["resumed_at_position"] == 1, drill  # the session resumes at the question cut off
    assert drill["turn_rows_after_resume"] == 2, drill


def test_a_database_outage_is_a_503_with_retry_after_and_nothing_is_lost(
    serving_config: Path, postgres_url: str, tmp_path: Path
) -> None:
    """PostgreSQL goes away (connections reset, then refused) and comes back.

    While it is away every endpoint says so with 503 + Retry-After and a plain sentence (no
    stack trace, no database URL); an answer cut off half way is not saved and is accepted
    when sent again; once the database is back the service answers by itself, no restart.
    """
    drill = database_outage(serving_config, tmp_path, postgres_url, outage_s=2)
    cut = drill["cut_mid_turn_last_event"]
    assert cut["event"] == "error" and cut["status"] == 503 and "not saved" in cut["message"], cut
    for route, answer in drill["during_outage"].items():
        assert answer["status"] == 503, (route, answer)
        assert int(answer["retry_after"]) > 0, (route, answer)
        assert "database is unavailable" in answer["message"], (route, answer)
        assert "postgresql" not in answer["message"] and "Traceback" not in answer["message"], route
    assert drill["healthy_again_after_db_returned_s"] < 30, drill
    assert drill["resent_answer_status"] == 200 and drill["resent_answer_position"] == 1, drill
    assert drill["turn_rows_after"] == 2, drill  # the cut-off answer was never half-saved
    assert drill["operator_log_names_database"], drill


def test_serve_names_an_unreachable_database_in_one_line(serving_config: Path, settings_env) -> None:
    closed = free_port()  # nothing listens there
    settings_env(
        MOCKMENTOR_SERVING_CONFIG=str(serving_config),
        MOCKMENTOR_DATABASE_URL=f"postgresql+psycopg://mm:secret@127.0.0.1:{closed}/x",
    )
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 2
    assert f"the interview database postgresql+psycopg://mm:***@127.0.0.1:{closed}/x is unreachable" in (
        result.output
    )
    assert "secret" not in result.output and "Traceback" not in result.output


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs util-linux unshare for a private tmpfs")
def test_a_full_disk_for_the_model_cache_is_named_and_leaves_no_partial_files(tmp_path: Path) -> None:
    """The model cache on a 4 MB filesystem (a private tmpfs): real ENOSPC from the kernel."""
    cache = tmp_path / "cache"
    cache.mkdir()
    script = (
        f"mount -t tmpfs -o size=4m mockmentor-full {cache} || exit 99; "
        f"{sys.executable} -m mockmentor.cli models; echo exit=$?; ls -A {cache}/models"
    )
    env = dict(os.environ, MOCKMENTOR_CACHE_DIR=str(cache))
    done = subprocess.run(
        ["unshare", "--mount", "--map-root-user", "sh", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode == 99:
        pytest.skip(f"cannot mount a private tmpfs here: {done.stderr.strip()}")
    out = done.stdout
    assert "exit=1" in out, out + done.stderr
    assert "failed    whisper-base" in out, out
    assert "no space left on the disk holding the model cache" in out, out
    assert "MOCKMENTOR_CACHE_DIR" in out
    assert "Traceback" not in out + done.stderr
    listing = out.split("exit=1", 1)[1].split()
    assert not [name for name in listing if name.endswith(".partial")], listing  # nothing half-written


def test_a_corrupted_registered_model_heals_from_the_store_or_is_refused(
    tiny_scorer: Path, serving_config: Path, tmp_path: Path, settings_env
) -> None:
    """The champion's files are checked against the SHA-256 recorded when it was registered."""
    import mlflow
    import yaml

    from mockmentor.registry import champion_dir, register
    from mockmentor.scorer.pyfunc import ScorerPyfunc
    from mockmentor.tracking import configure_mlflow

    name = f"corruption-drill-{tmp_path.name[-8:]}"
    configure_mlflow()
    with mlflow.start_run():
        registration = register(name, tiny_scorer, ScorerPyfunc(), "val_pearson", 0.5)
    weights = "encoder/model.safetensors"

    model, version = champion_dir(name)
    flip_a_byte(model / weights)  # damage the cached copy: downloaded again, not used
    healed, _ = champion_dir(name)
    assert sha256_of(healed / weights) == sha256_of(tiny_scorer / weights)

    flip_a_byte(
        stored_copy(name, version, weights)
    )  # damage the artifact store itself: refused, with the file named
    shutil.rmtree(healed.parent.parent)  # an operator's fresh machine: nothing cached
    config = yaml.safe_load(serving_config.read_text())
    config["serve"]["scorer"] = f"registry:{name}"
    (tmp_path / "serving.yaml").write_text(yaml.safe_dump(config))
    settings_env(MOCKMENTOR_SERVING_CONFIG=str(tmp_path / "serving.yaml"))
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 2, result.output
    assert f"registered model '{name}' v{registration.version} refused: {weights} does not match" in (
        result.output
    )


def test_a_service_whose_models_cannot_load_stops_at_once_and_says_why(tmp_path: Path, repo: Path) -> None:
    """BentoML starts a worker that fails in __init__ again every few seconds, forever; the service
    stops the server instead, with the reason in its log (the CLI's preflight catches most such
    faults before BentoML starts; this is what it cannot see)."""
    config = yaml.safe_load((repo / "configs/serving.yaml").read_text())
    config["serve"]["processed_dir"] = str(tmp_path / "no-questions-here")  # the first thing it loads
    (tmp_path / "serving.yaml").write_text(yaml.safe_dump(config))
    log = tmp_path / "service.log"
    started = time.monotonic()
    with log.open("wb") as sink, pytest.raises(RuntimeError, match="stopped while starting"):
        start_service(
            free_port(), config=tmp_path / "serving.yaml", database_url=f"sqlite:///{tmp_path}/i.db", log=sink
        )
    assert time.monotonic() - started < 120  # not start_service's 600 s
    text = log.read_text(errors="replace")
    assert "MockMentor could not start" in text and "no-questions-here" in text
    assert text.count("MockMentor could not start") == 1  # started once, not again and again


def test_the_service_starts_on_transformers_when_llama_cpp_dies_in_its_preflight(
    serving_config: Path, tmp_path: Path, repo: Path
) -> None:
    """A native backend whose child dies by a real SIGILL: the service still serves a whole turn."""
    database = f"sqlite:///{tmp_path / 'interviews.db'}"
    port = free_port()
    fault = {"MOCKMENTOR_PREFLIGHT_PROBE": "native_faults:sigill", "PYTHONPATH": str(repo / "tests")}
    log = tmp_path / "service.log"
    with log.open("wb") as sink:
        process = start_service(port, config=serving_config, database_url=database, log=sink, extra_env=fault)
    try:
        service = Service(f"http://127.0.0.1:{port}", database)
        health = service.post("/healthz").json()
        assert health["interviewer_backend"] == (
            "transformers (llama.cpp failed its preflight: killed by SIGILL, illegal instruction)"
        )
        assert health["interviewer"].endswith("(transformers)")
        started = service.post("/start_session", json={"role": "Software engineer", "topic": "coding"})
        assert started.status_code == 200, started.text
        auth = {k: started.json()[k] for k in ("session_id", "session_token")}
        turn = service.post("/answer_text", json=auth | {"text": "A stack is last in, first out."})
        assert turn.status_code == 200, turn.text
        assert turn.json()["reply"].rstrip().endswith(("?", "."))
        assert service.turn_rows(auth["session_id"]) == 2
    finally:
        stop_service(process)
    lines = [x for x in log.read_text(errors="replace").splitlines() if "failed its preflight" in x]
    assert lines and "SIGILL" in lines[0] and "CPU flags:" in lines[0] and "make llama" in lines[0]
