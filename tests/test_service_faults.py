"""Fault drills: the service killed mid-turn, the database gone for a while, the disk full,
a model file corrupted. Each must end in a clear message and no lost or half-written data.
(bench/fault_drills.py runs the same drills with the real models and reports timings.)"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from conftest import SPEECH, Service
from fault_drills import flip_a_byte, kill_tree, stored_copy
from sqlalchemy import make_url
from tcp_proxy import TcpProxy
from typer.testing import CliRunner

from mockmentor.cli import app
from mockmentor.model_assets import sha256_of
from mockmentor.serving.process import free_port, start_service, stop_service
from mockmentor.settings import get_settings


def test_a_turn_killed_half_way_leaves_nothing_and_the_session_resumes(
    serving_config: Path, tmp_path: Path
) -> None:
    database = f"sqlite:///{tmp_path / 'interviews.db'}"
    port = free_port()
    with (tmp_path / "first.log").open("wb") as log:
        first = start_service(port, config=serving_config, database_url=database, log=log)
    service = Service(f"http://127.0.0.1:{port}", database)
    started = service.post("/start_session", json={"role": "Software engineer", "topic": "coding"}).json()
    auth = {"session_id": started["session_id"], "session_token": started["session_token"]}

    transcribed = threading.Event()

    def answer() -> None:
        clip = (SPEECH / "LJ001-0001.wav").read_bytes()
        try:
            with httpx.stream(
                "POST",
                f"{service.url}/answer_audio_stream",
                data=auth,
                files={"audio": ("a.wav", clip, "audio/wav")},
                timeout=120,
            ) as response:
                for line in response.iter_lines():
                    if line.startswith("event: transcript"):
                        transcribed.set()  # the turn is half way: transcribed, not yet answered
        except httpx.HTTPError:
            pass  # the server died under it, as intended

    client = threading.Thread(target=answer)
    client.start()
    assert transcribed.wait(120)
    kill_tree(first.pid)
    client.join(60)
    assert service.turn_rows(started["session_id"]) == 1  # only the opener: nothing half-written

    with (tmp_path / "second.log").open("wb") as log:
        second = start_service(port, config=serving_config, database_url=database, log=log)
    try:
        resumed = service.post(
            "/answer_text", json=auth | {"text": "It is a list of nodes, each pointing on."}
        )
        assert resumed.status_code == 200, resumed.text
        assert resumed.json()["position"] == 1  # the session resumes from its last complete turn
        assert service.turn_rows(started["session_id"]) == 2
    finally:
        stop_service(second)


def test_a_database_outage_is_a_503_with_retry_after_and_nothing_is_lost(
    serving_config: Path, postgres_url: str, tmp_path: Path
) -> None:
    """PostgreSQL goes away (connections reset, then refused) and comes back.

    While it is away every endpoint says so with 503 + Retry-After and a plain sentence (no
    stack trace, no database URL); an answer cut off half way is not saved and is accepted
    when sent again; once the database is back the service answers by itself, no restart.
    """
    upstream = make_url(postgres_url)
    proxy = TcpProxy(upstream.port or 5432, upstream.host or "127.0.0.1")
    proxy.restore()
    through_proxy = upstream.set(port=proxy.port).render_as_string(hide_password=False)
    port = free_port()
    with (tmp_path / "service.log").open("wb") as log:
        process = start_service(port, config=serving_config, database_url=through_proxy, log=log)
    service = Service(f"http://127.0.0.1:{port}", postgres_url)
    try:
        started = service.post("/start_session", json={"role": "Software engineer", "topic": "coding"}).json()
        auth = {"session_id": started["session_id"], "session_token": started["session_token"]}
        answer = auth | {"text": "A linked list is a chain of nodes, each pointing to the next one."}

        # The database drops in the middle of a turn: after the transcript, before the write.
        sent = time.monotonic()
        with service.http.stream("POST", "/answer_text_stream", json=answer) as response:
            assert response.status_code == 200
            lines = response.iter_lines()
            for line in lines:
                if line.startswith("event: transcript"):
                    proxy.cut()
                    cut_at = time.monotonic() - sent
                    break
            rest = [json.loads(line[5:]) for line in lines if line.startswith("data:")]
        assert rest[-1]["event"] == "error" and rest[-1]["status"] == 503, (cut_at, rest[-1])
        assert "not saved" in rest[-1]["message"]

        while_down = {
            "/answer_text": answer,
            "/answer_text_stream": answer,
            "/start_session": {"role": "Software engineer"},
            "/rate_turn": auth | {"turn_id": started["turn_id"], "rating": 4},
            "/session_report": auth,
            "/history": {"candidate_token": started["candidate_token"]},
            "/healthz": {},
        }
        for route, body in while_down.items():
            refused = service.post(route, json=body)
            assert refused.status_code == 503, (route, refused.status_code, refused.text)
            assert int(refused.headers["retry-after"]) > 0, route
            assert "database is unavailable" in refused.text, (route, refused.text)
            assert "postgresql" not in refused.text and "Traceback" not in refused.text, route

        proxy.restore()
        deadline = time.monotonic() + 30
        while service.post("/healthz").status_code != 200:
            assert time.monotonic() < deadline, "the service did not recover within 30 s"
            time.sleep(0.5)
        resent = service.post("/answer_text", json=answer)
        assert resent.status_code == 200, resent.text
        assert resent.json()["position"] == 1  # the cut-off answer was never half-saved
        assert service.turn_rows(started["session_id"]) == 2
    finally:
        proxy.cut()
        stop_service(process)
    log_text = (tmp_path / "service.log").read_text(errors="replace")
    assert "is unreachable" in log_text  # the operator's log names the database and the reason


def test_serve_names_an_unreachable_database_in_one_line(
    serving_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = free_port()  # nothing listens there
    monkeypatch.setenv("MOCKMENTOR_SERVING_CONFIG", str(serving_config))
    monkeypatch.setenv("MOCKMENTOR_DATABASE_URL", f"postgresql+psycopg://mm:secret@127.0.0.1:{closed}/x")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["serve"])
    finally:
        get_settings.cache_clear()
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
    tiny_scorer: Path, serving_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The champion's files are checked against the SHA-256 recorded when it was registered."""
    import mlflow
    import yaml

    from mockmentor.registry import champion_dir, register
    from mockmentor.scorer_pyfunc import ScorerPyfunc
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
    monkeypatch.setenv("MOCKMENTOR_SERVING_CONFIG", str(tmp_path / "serving.yaml"))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["serve"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2, result.output
    assert f"registered model '{name}' v{registration.version} refused: {weights} does not match" in (
        result.output
    )


@pytest.mark.slow
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
