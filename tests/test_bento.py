"""`bentoml build` turns the repository into a Bento: the service, the project wheel with its
pins, the Bento's serving config and the image recipe (system packages, setup script)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def test_the_bento_config_is_an_overlay_that_changes_only_the_model_sources() -> None:
    """configs/bento/serving.yaml holds only what differs; the rest comes from configs/serving.yaml."""
    from dataclasses import asdict

    from mockmentor.serving.config import load_serve_config

    overlay = yaml.safe_load((REPO / "configs/bento/serving.yaml").read_text())
    assert overlay["extends"] == "../serving.yaml" and set(overlay["serve"]) == {"scorer", "interviewer"}
    served = asdict(load_serve_config(REPO / "configs/serving.yaml"))
    packed = asdict(load_serve_config(REPO / "configs/bento/serving.yaml"))
    assert {key for key in served if served[key] != packed[key]} == {"scorer", "interviewer"}
    assert not packed["scorer"].startswith("registry:") and not packed["interviewer"].startswith("registry:")


def test_the_image_builds_llama_cpp_portably_before_the_service_proves_it() -> None:
    """The image's llama.cpp compiles on the build host for x86-64-v3, never -march=native or AMX."""
    from mockmentor.interviewer import llama_build

    bentofile = yaml.safe_load((REPO / "bentofile.yaml").read_text())
    envs = {e["name"]: e["value"] for e in bentofile["envs"]}
    [value] = shlex.split(envs["CMAKE_ARGS"])  # one word in the Dockerfile's ARG line
    assert value == llama_build.cmake_args(llama_build.LEVELS["x86-64-v3"])
    assert "-DGGML_NATIVE=OFF" in value and "AMX_INT8=ON" not in value


@pytest.mark.slow  # pip wheel + bentoml build
def test_bentoml_build_makes_a_bento_from_the_repo(tmp_path: Path) -> None:
    context = REPO  # as `make bento` does; dist/ is git-ignored
    env = dict(os.environ, BENTOML_HOME=str(tmp_path / "bentoml"), BENTOML_DO_NOT_TRACK="true")
    wheel = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", "dist", "."],
        cwd=context,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert wheel.returncode == 0, wheel.stderr[-2000:]
    built = subprocess.run(
        [str(BIN / "bentoml"), "build", "--output", "tag"],
        cwd=context,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, (built.stdout + built.stderr)[-3000:]
    tag = built.stdout.strip().splitlines()[-1].removeprefix("__tag__:")
    name, version = tag.split(":")
    assert name == "mockmentor"

    bento = tmp_path / "bentoml/bentos" / name / version
    manifest = yaml.safe_load((bento / "bento.yaml").read_text())
    assert manifest["service"] == "mockmentor.serving.service:MockMentor"
    assert {e["name"]: e["value"] for e in manifest["envs"]}["MOCKMENTOR_SERVING_CONFIG"].endswith(
        "src/configs/bento/serving.yaml"
    )
    assert (bento / "src/configs/bento/serving.yaml").is_file() and (
        bento / "src/configs/serving.yaml"
    ).is_file()
    assert (bento / "src/configs/models.yaml").is_file()
    [wheel_file] = (bento / "env/python/wheels").glob("mockmentor-0.1.0-*.whl")
    with zipfile.ZipFile(wheel_file) as packed_wheel:  # what the service needs beside the code
        names = set(packed_wheel.namelist())
    assert {"mockmentor/serving/page/index.html", "mockmentor/serving/page/app.js"} <= names
    assert "mockmentor/serving/page/vendor/codemirror.js" in names  # the editor, vendored
    assert "mockmentor/coding/runner.py" in names  # what the sandbox runs
    assert "mockmentor/store/migrations/env.py" in names
    assert any(n.startswith("mockmentor/store/migrations/versions/") for n in names)
    assert {"mockmentor/metrics/score_agreement.py", "mockmentor/interviewer/llama_build.py"} <= names
    dockerfile = (bento / "env/docker/Dockerfile").read_text()
    assert "build-essential" in dockerfile and "cmake" in dockerfile and "bubblewrap" in dockerfile
    assert "setup_script" in dockerfile or "setup.sh" in dockerfile
    # set before install.sh compiles llama.cpp, as one argument
    arg = next(line for line in dockerfile.splitlines() if line.startswith("ARG CMAKE_ARGS="))
    assert len(shlex.split(arg)) == 2 and "ENV CMAKE_ARGS=$CMAKE_ARGS" in dockerfile
    assert dockerfile.index("ENV CMAKE_ARGS") < dockerfile.index("install.sh")
    assert "download.pytorch.org/whl/cpu" in (bento / "env/python/requirements.txt").read_text() or (
        "download.pytorch.org/whl/cpu" in (bento / "env/python/install.sh").read_text()
    )
    # what the pipeline trained travels with it when it exists (a fresh clone has not trained)
    for trained in (
        "models/scorer/scorer.json",
        "models/interviewer/interviewer.gguf",
        "models/end_of_turn.json",
    ):
        if (REPO / trained).is_file():
            assert (bento / "src" / trained).is_file(), trained
