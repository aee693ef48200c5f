"""Data-parallel training with two processes on the CPU (torchrun, gloo).

`accelerate launch --config_file configs/accelerate/multi_gpu.yaml` starts the same
torch.distributed processes on GPUs (accelerate runs torchrun's launcher); on a CPU-only
machine torchrun is how to get them. Both processes train on their share of each batch;
exactly one evaluates, exports, writes metrics and registers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
import yaml
from test_interviewer import REPO, write_config

from mockmentor.serving.process import free_port

pytestmark = pytest.mark.slow  # torchrun training


def test_two_processes_train_one_interviewer_and_register_it_once(
    built_dialogues: Path, tmp_path: Path
) -> None:

    name = f"distributed-interviewer-{tmp_path.name[-8:]}"
    config = write_config(tmp_path, built_dialogues, train_interviewer={"register_as": name})
    recipe = yaml.safe_load(config.read_text())
    recipe["train_interviewer"]["recipe"] |= {"max_steps": 2, "batch_size": 1, "max_examples": 8}
    config.write_text(yaml.safe_dump(recipe))

    launch = [
        str(Path(sys.executable).parent / "torchrun"),
        "--nproc_per_node",
        "2",
        "--master_port",
        str(free_port()),
        "-m",
        "mockmentor.cli",
        "train-interviewer",
        "--config",
        str(config),
    ]
    done = subprocess.run(launch, cwd=REPO, env=os.environ, capture_output=True, text=True, timeout=900)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert output.count(f"registered {name} v") == 1, output[-3000:]  # one process registered

    versions = mlflow.MlflowClient().search_model_versions(f"name='{name}'")
    assert len(versions) == 1
    meta = json.loads((tmp_path / "interviewer" / "interviewer.json").read_text())
    assert meta["processes"] == 2  # data-parallel: each process trained on its share of a batch
    assert (tmp_path / "interviewer" / "interviewer.gguf").stat().st_size > 1_000_000
    assert (tmp_path / "interviewer_train.json").is_file()
