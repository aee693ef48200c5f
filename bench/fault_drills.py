"""Fault drills against the service with its real models, on loopback only (`make faults`).

1. Killed mid-turn: SIGKILL to the service and its workers right after the transcript event
   of a spoken answer; restart on the same database; the session must resume where it was.
2. Database outage: PostgreSQL behind a TCP proxy that is cut in the middle of a turn, kept
   away while every endpoint is called, then restored; no restart of the service.
3. Full disk: the model cache on a 4 MB private tmpfs (`unshare`), `mockmentor models`.
4. Corrupted champion: a registered copy of the scorer in a throw-away MLflow store, its cached
   copy damaged (must heal), then its stored copy damaged (must be refused by checksum).

Writes bench/results/faults.json with what each drill saw and how long recovery took.

    python bench/fault_drills.py [--config configs/serving.yaml]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil
from sqlalchemy import create_engine, make_url, text
from tcp_proxy import TcpProxy

from mockmentor.serving.process import free_port, start_service, stop_service

REPO = Path(__file__).resolve().parent.parent
CLIP = REPO / "data/raw/speech/LJ001-0001.wav"
POSTGRES_ADMIN = os.environ.get(
    "MOCKMENTOR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
ANSWER = "A linked list is a chain of nodes, each one pointing to the next node in the list."


def kill_tree(pid: int) -> None:
    """SIGKILL the service and every worker it spawned: no shutdown code runs."""
    root = psutil.Process(pid)
    for process in [*root.children(recursive=True), root]:
        process.kill()
    psutil.wait_procs([root], timeout=30)


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.unlink()  # the cache may hold a link into the store: replace, never write through
    path.write_bytes(bytes(data))


def stored_copy(name: str, version: str, relative: str) -> Path:
    """The file as the MLflow artifact store holds it (a local folder here)."""
    import mlflow

    location = mlflow.MlflowClient().get_model_version_download_uri(name, version)
    root = Path(urllib.parse.urlparse(location).path if location.startswith("file:") else location)
    [path] = root.glob(f"**/{relative}")
    return path


def turn_rows(database_url: str, session_id: str) -> int:
    engine = create_engine(database_url)
    with engine.connect() as db:
        count = db.execute(
            text("SELECT count(*) FROM turns WHERE session_id = :s"), {"s": session_id}
        ).scalar()
    engine.dispose()
    return int(count or 0)


def killed_mid_turn(config: Path, work: Path) -> dict:
    database, port = f"sqlite:///{work / 'kill.db'}", free_port()
    with (work / "kill-1.log").open("wb") as log:
        first = start_service(port, config=config, database_url=database, log=log)
    url = f"http://127.0.0.1:{port}"
    started = httpx.post(f"{url}/start_session", json={"role": "Software engineer"}, timeout=120).json()
    auth = {"session_id": started["session_id"], "session_token": started["session_token"]}
    transcribed = threading.Event()

    def answer() -> None:
        try:
            with httpx.stream(
                "POST", f"{url}/answer_audio_stream", data=auth,
                files={"audio": ("a.wav", CLIP.read_bytes(), "audio/wav")}, timeout=120,
            ) as response:  # fmt: skip
                for line in response.iter_lines():
                    if line.startswith("event: transcript"):
                        transcribed.set()
        except httpx.HTTPError:
            pass  # the server died under it, as intended

    client = threading.Thread(target=answer)
    client.start()
    assert transcribed.wait(120), "no transcript event"
    kill_tree(first.pid)
    client.join(60)
    rows_after_kill = turn_rows(database, started["session_id"])
    restart = time.monotonic()
    with (work / "kill-2.log").open("wb") as log:
        second = start_service(port, config=config, database_url=database, log=log)
    ready_s = time.monotonic() - restart
    try:
        resumed = httpx.post(f"{url}/answer_text", json=auth | {"text": ANSWER}, timeout=300)
    finally:
        stop_service(second)
    return {
        "turn_rows_after_kill": rows_after_kill,  # 1: the opener only
        "restart_to_ready_s": round(ready_s, 1),
        "resumed_status": resumed.status_code,
        "resumed_at_position": resumed.json().get("position"),  # 1: the question that was cut off
        "turn_rows_after_resume": turn_rows(database, started["session_id"]),
    }


def fresh_database(admin_url: str = POSTGRES_ADMIN) -> tuple[str, Callable[[], None]]:
    """A new, empty PostgreSQL database and the function that drops it."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"mockmentor_drill_{uuid.uuid4().hex[:10]}"
    with admin.connect() as db:
        db.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as db:
            db.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), drop


def database_outage(config: Path, work: Path, database_url: str, outage_s: float) -> dict:
    """PostgreSQL cut away (through a TCP proxy) right after a streamed answer's transcript, every
    endpoint called while it is away, then the database restored: no service restart."""
    direct = make_url(database_url)
    proxy = TcpProxy(direct.port or 5432, direct.host or "127.0.0.1")
    proxy.restore()
    port = free_port()
    through_proxy = direct.set(port=proxy.port).render_as_string(hide_password=False)
    with (work / "outage.log").open("wb") as log:
        process = start_service(port, config=config, database_url=through_proxy, log=log)
    http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300)
    try:
        started = http.post("/start_session", json={"role": "Software engineer"}).json()
        auth = {"session_id": started["session_id"], "session_token": started["session_token"]}
        answer = auth | {"text": ANSWER}
        with http.stream("POST", "/answer_text_stream", json=answer) as response:
            lines = response.iter_lines()
            for line in lines:
                if line.startswith("event: transcript"):
                    proxy.cut()
                    break
            last = [json.loads(line[5:]) for line in lines if line.startswith("data:")][-1]
        cut_at = time.monotonic()
        during = sweep(http, auth, answer, started)
        time.sleep(max(0.0, outage_s - (time.monotonic() - cut_at)))
        proxy.restore()
        back = time.monotonic()
        while http.post("/healthz").status_code != 200:
            if time.monotonic() - back > 60:
                raise RuntimeError("the service did not recover within 60 s of the database returning")
            time.sleep(0.2)
        healthy_after_s = time.monotonic() - back
        resent = http.post("/answer_text", json=answer)
        rows = turn_rows(database_url, started["session_id"])
    finally:
        proxy.cut()
        stop_service(process)
    log_text = (work / "outage.log").read_text(errors="replace")
    return {
        "cut_mid_turn_last_event": {k: last.get(k) for k in ("event", "status", "message")},
        "outage_s": outage_s,
        "during_outage": during,
        "healthy_again_after_db_returned_s": round(healthy_after_s, 2),
        "resent_answer_status": resent.status_code,
        "resent_answer_position": resent.json().get("position"),
        "turn_rows_after": rows,  # 2: opener + the resent answer, nothing half-written
        "operator_log_names_database": "is unreachable" in log_text,
    }


def sweep(http: httpx.Client, auth: dict, answer: dict, started: dict) -> dict[str, dict]:
    """Every endpoint once while the database is away: status, Retry-After, message, time."""
    endpoints = {
        "/answer_text": answer,
        "/answer_text_stream": answer,
        "/answer_audio": None,
        "/start_session": {"role": "Software engineer"},
        "/rate_turn": auth | {"turn_id": started["turn_id"], "rating": 4},
        "/session_report": auth,
        "/history": {"candidate_token": started["candidate_token"]},
        "/healthz": {},
    }
    during = {}
    for route, body in endpoints.items():
        sent = time.monotonic()
        if body is None:
            reply = http.post(route, data=auth, files={"audio": ("a.wav", CLIP.read_bytes(), "audio/wav")})
        else:
            reply = http.post(route, json=body)
        during[route] = {
            "status": reply.status_code,
            "retry_after": reply.headers.get("retry-after"),
            "message": reply.json().get("error")
            if reply.headers.get("content-type", "").startswith("application/json")
            else reply.text[:200],
            "answered_in_ms": round((time.monotonic() - sent) * 1000),
        }
    return during


def full_disk(work: Path) -> dict:
    cache = work / "full-cache"
    cache.mkdir()
    script = (
        f"mount -t tmpfs -o size=4m mockmentor-full {cache} || exit 99; "
        f"{sys.executable} -m mockmentor.cli models; echo exit=$?; ls -A {cache}/models"
    )
    done = subprocess.run(
        ["unshare", "--mount", "--map-root-user", "sh", "-c", script],
        env=dict(os.environ, MOCKMENTOR_CACHE_DIR=str(cache)), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if done.returncode == 99:
        return {"skipped": f"cannot mount a private tmpfs: {done.stderr.strip()}"}
    out = done.stdout
    exit_line = next(line for line in out.splitlines() if line.startswith("exit="))
    message = next((line.strip() for line in out.splitlines() if "no space left" in line), None)
    leftovers = out.split(exit_line, 1)[1].split()
    return {
        "exit_code": int(exit_line.removeprefix("exit=")),
        "message": message,
        "partial_files_left": [name for name in leftovers if name.endswith(".partial")],
        "traceback_shown": "Traceback" in out + done.stderr,
    }


def corrupted_champion(config: Path, work: Path) -> dict:
    """In a throw-away MLflow store: the user's own store is never touched."""
    import mlflow
    import yaml

    env = {
        "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'drill-mlflow.db'}",
        "MOCKMENTOR_MLFLOW_ARTIFACT_ROOT": str(work / "drill-artifacts"),
        "MOCKMENTOR_CACHE_DIR": str(work / "drill-cache"),
    }
    os.environ.update(env)
    from mockmentor.registry import champion_dir, register
    from mockmentor.scorer.pyfunc import ScorerPyfunc
    from mockmentor.settings import get_settings
    from mockmentor.tracking import configure_mlflow

    get_settings.cache_clear()
    configure_mlflow()
    with mlflow.start_run():
        registration = register("drill-scorer", REPO / "models/scorer", ScorerPyfunc(), "val_pearson", 0.5)
    weights = "encoder/model.safetensors"
    model, version = champion_dir("drill-scorer")
    flip_a_byte(model / weights)
    started = time.monotonic()
    healed, _ = champion_dir("drill-scorer")
    heal_s = time.monotonic() - started
    flip_a_byte(stored_copy("drill-scorer", version, weights))
    shutil.rmtree(healed.parent.parent)
    served = yaml.safe_load(config.read_text())
    served["serve"]["scorer"] = "registry:drill-scorer"
    (work / "drill-serving.yaml").write_text(yaml.safe_dump(served))
    refused = subprocess.run(
        [sys.executable, "-m", "mockmentor.cli", "serve"],
        env=dict(os.environ, MOCKMENTOR_SERVING_CONFIG=str(work / "drill-serving.yaml")),
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    return {
        "registered_version": registration.version,
        "damaged_cache_healed": (healed / weights).is_file(),
        "heal_s": round(heal_s, 2),
        "damaged_store_exit_code": refused.returncode,
        "damaged_store_message": refused.stderr.strip().splitlines()[-1] if refused.stderr.strip() else "",
    }


def outage(config: Path, work: Path, outage_s: float) -> dict:
    database_url, drop = fresh_database()
    try:
        return database_outage(config, work, database_url, outage_s)
    finally:
        drop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", type=Path, default=REPO / "configs/serving.yaml")
    parser.add_argument("--outage-seconds", type=float, default=20.0)
    parser.add_argument("--output", type=Path, default=REPO / "bench/results/faults.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        report = {
            "killed_mid_turn": killed_mid_turn(args.config, work),
            "database_outage": outage(args.config, work, args.outage_seconds),
            "full_disk": full_disk(work),
            "corrupted_champion": corrupted_champion(args.config, work),
        }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
