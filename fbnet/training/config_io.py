"""Config files and text: dict <-> dataclass, YAML/JSON, ``key=value`` overrides, diffs.

Values given as text (overrides) are parsed as YAML scalars/lists (``1e-4``, ``true``, ``null``,
``[16, 32]``) and then checked against the field's type; unknown keys and wrong types raise
``ValueError`` naming the key and the received value. Written configs are YAML with block
mappings and one-line lists, saved atomically. This module does not import TensorFlow.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import types
import typing
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from fbnet.models.params import nested_diff

if TYPE_CHECKING:
    from fbnet.training.config import TrainConfig


def to_dict(config: Any) -> dict[str, Any]:
    """Plain nested dict (JSON/YAML-ready) of a config dataclass."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


def from_dict(cls: type, data: Any, path: str = "") -> Any:
    """Build dataclass ``cls`` from a nested dict, checking keys and types."""
    if not isinstance(data, dict):
        raise ValueError(f"{path or 'config'} must be a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        where = path or "config"
        raise ValueError(f"unknown key(s) {unknown} in {where}; valid keys are {sorted(names)}")
    values = {}
    for name, value in data.items():
        key = f"{path}.{name}" if path else name
        values[name] = _coerce(hints[name], value, key)
    return cls(**values)


def _coerce(tp: Any, value: Any, key: str) -> Any:
    """Check ``value`` against type ``tp`` (converting int -> float, dicts -> dataclasses)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(tp)
        if value is None:
            if type(None) in options:
                return None
            raise ValueError(f"{key} may not be null")
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(option, value, key)
            except ValueError as error:
                errors.append(str(error))
        raise ValueError(errors[0])
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, key)
    if origin is dict:
        if not isinstance(value, dict):
            raise ValueError(f"{key} must be a mapping, got {value!r}")
        return dict(value)
    if tp is Any:
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ValueError(f"{key} must be true or false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ValueError(f"{key} must be an integer, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # PyYAML reads "1e-4" (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
        raise ValueError(f"{key} must be a number, got {value!r}")
    if tp is str:
        if isinstance(value, bool):  # YAML reads true/false; keep the user's spelling
            return "true" if value else "false"
        if isinstance(value, (str, int, float)):
            return str(value)
        raise ValueError(f"{key} must be a string, got {value!r}")
    raise TypeError(f"unsupported config type {tp!r} for {key}")


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML or JSON config file into a (possibly partial) nested dict."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {str(path)!r} does not exist")
    text = path.read_text()
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise ValueError(f"config file {str(path)!r} is not valid YAML/JSON: {error}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"config file {str(path)!r} must hold a mapping, got {data!r}")
    return data


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Recursive dict merge; ``update`` wins. ``model.params`` and ``loss.weights`` merge too."""
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def parse_override(text: str) -> dict[str, Any]:
    """``"optimizer.learning_rate=1e-4"`` -> ``{"optimizer": {"learning_rate": 1e-4}}``."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise ValueError(f"override must look like section.field=value, got {text!r}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    for part in reversed(key.split(".")):
        value = {part: value}
    return value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``key=value`` overrides, in order, to a nested config dict."""
    for text in overrides:
        data = merge(data, parse_override(text))
    return data


class _Dumper(yaml.SafeDumper):
    """Block style for mappings, one-line lists of scalars (filter lists stay readable)."""


def _represent_list(dumper: yaml.SafeDumper, data: list) -> yaml.Node:
    flow = all(not isinstance(item, (dict, list)) for item in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _represent_list)


def to_yaml(config: TrainConfig) -> str:
    """YAML text of a config (block mappings, one-line lists)."""
    return yaml.dump(to_dict(config), Dumper=_Dumper, sort_keys=False)


def save_config(config: TrainConfig, path: str | Path) -> Path:
    """Write the resolved config as YAML, atomically (temp file + rename)."""
    path = Path(path)
    header = (
        "# Fully resolved training config. Reproduce this run with:\n"
        f"#   python train.py --config {path} --run-dir NEW_RUN_DIR\n"
    )
    text = header + to_yaml(config)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return path


def diff(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> dict[str, tuple]:
    """Flat ``{"a.b": (old, new)}`` of the leaves that differ between two nested dicts."""
    return nested_diff(old, new, prefix)


def with_seed(config: TrainConfig) -> TrainConfig:
    """``config`` with ``training.seed`` drawn at random when unset (and then recorded)."""
    if config.training.seed is not None:
        return config
    return replace(config, training=replace(config.training, seed=secrets.randbelow(2**31)))


def check_resumable(saved: TrainConfig, new: TrainConfig) -> dict[str, tuple]:
    """Changes between a run's saved config and the new one; ``ValueError`` for model changes."""
    changes = diff(to_dict(saved), to_dict(new))
    fatal = {k: v for k, v in changes.items() if k.startswith("model.") or k == "data.window"}
    if fatal:
        details = "; ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in fatal.items())
        raise ValueError(
            f"the run directory holds a run of a different model ({details}); its checkpoints "
            "cannot be resumed with this config. Pass --run-dir NEW_DIR for a new run."
        )
    return changes
