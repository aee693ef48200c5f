"""Test-only preflight probes (MOCKMENTOR_PREFLIGHT_PROBE=native_faults:<name>): each runs in the
preflight's child process and fails the way a broken native library would, for real."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def sigill(model: Path, prompt_tokens: int) -> dict:
    os.kill(os.getpid(), signal.SIGILL)  # what an instruction the CPU cannot run does
    return {}


def hang(model: Path, prompt_tokens: int) -> dict:
    time.sleep(3600)
    return {}


def counted(model: Path, prompt_tokens: int) -> dict:
    """Passes, and leaves a mark per run in the folder named by NATIVE_FAULTS_RUNS."""
    runs = Path(os.environ["NATIVE_FAULTS_RUNS"])
    (runs / f"{time.monotonic_ns()}").touch()
    return {"system_info": "test probe"}
