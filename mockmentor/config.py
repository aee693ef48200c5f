"""One configuration system: flat YAML recipes in `configs/` read into typed dataclasses.

Each pipeline stage declares a dataclass for its own section (fields carry `help`
metadata; cross-field checks live in `__post_init__`) and reads it with `load_section`.
Unknown keys and wrong types are errors that name the file, the section and the field,
so a typo in a recipe never silently falls back to a default. A recipe may start with
`extends: <another file>` and then hold only what differs: its sections are laid over that
file's, key by key (configs/bento/serving.yaml overlays configs/serving.yaml).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import ConfigDict, TypeAdapter, ValidationError

# Stage configs are pydantic dataclasses with this config: strict about unknown keys.
STRICT = ConfigDict(extra="forbid")

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message says where and why."""


def read_yaml(path: Path, _chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    if path.resolve() in _chain:
        raise ConfigError(f"{path}: 'extends' loops back to a file that extends it")
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: not valid YAML ({getattr(err, 'problem', err)})") from None
    if not isinstance(content, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    parent = content.pop("extends", None)
    if parent is None:
        return content
    if not isinstance(parent, str):
        raise ConfigError(f"{path}: 'extends' must name a YAML file (relative to this one)")
    base = read_yaml(path.parent / parent, (*_chain, path.resolve()))
    return {
        name: base[name] | content[name]
        if isinstance(base.get(name), dict) and isinstance(content.get(name), dict)
        else content.get(name, base.get(name))
        for name in base | content
    }


def load_section(path: Path | str, section: str, cls: type[T], **overrides: Any) -> T:
    """Read `section` of the YAML file at `path` into `cls`, applying keyword overrides."""
    path = Path(path)
    content = read_yaml(path)
    if section not in content:
        raise ConfigError(f"{path}: missing section '{section}' (found: {', '.join(content)})")
    values = dict(content[section] or {}) | overrides
    try:
        return TypeAdapter(cls).validate_python(values)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"{path}: section '{section}', field '{field}': {first['msg']}") from None
    except ValueError as err:  # raised by a config's __post_init__
        raise ConfigError(f"{path}: section '{section}': {err}") from None
