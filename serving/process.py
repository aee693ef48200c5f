"""Start the service as its own process (for `make run`'s tests, the bench and the browser test)."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import IO

from mockmentor import REPO_ROOT

SERVICE = "mockmentor.serving.service:MockMentor"


# Below Linux's ephemeral range (32768-60999), which is where a bind to port 0 draws from. A port
# the kernel handed us there could be handed again to BentoML's supervisor (circus), which
# reserves its own control ports that way while the service starts: once it took the HTTP port
# itself, and the service stopped with "Address already in use".
PORTS = range(20000, 32000)


def free_port() -> int:
    """A port nobody listens on now, outside the range the kernel picks ports from."""
    pick = random.SystemRandom()
    for _ in range(200):
        port = pick.choice(PORTS)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1} on 127.0.0.1")


def start_service(
    port: int,
    *,
    config: Path | None = None,
    database_url: str | None = None,
    log: IO[bytes] | None = None,
    timeout: float = 600.0,
    extra_env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """`bentoml serve` on 127.0.0.1:`port`; returns once /readyz answers (models loaded)."""
    env = dict(os.environ) | (extra_env or {})  # the project's offline defaults are in os.environ
    if config is not None:
        env["MOCKMENTOR_SERVING_CONFIG"] = str(config)
    if database_url is not None:
        env["MOCKMENTOR_DATABASE_URL"] = database_url
    command = [sys.executable, "-m", "bentoml", "serve", SERVICE, "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            # the service stops itself when its models cannot load (service.py): its log says why
            raise RuntimeError(f"the service stopped while starting (exit code {process.returncode})")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
                if response.status == 200:
                    return process
        except OSError:
            pass
        time.sleep(1)
    process.terminate()
    raise RuntimeError(f"the service did not become ready within {timeout:.0f} s")


def stop_service(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
