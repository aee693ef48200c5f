"""Fault drill: the service is killed in the middle of a turn and started again on the same database."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import psutil
from conftest import SPEECH, Service

from mockmentor.serving.process import free_port, start_service, stop_service


def kill_tree(pid: int) -> None:
    """SIGKILL the service and every worker it spawned: no shutdown code runs."""
    root = psutil.Process(pid)
    for process in [*root.children(recursive=True), root]:
        process.kill()
    psutil.wait_procs([root], timeout=30)


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
