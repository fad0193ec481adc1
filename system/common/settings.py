"""A process's settings, written once: a frozen dataclass whose fields say their flag, variable and meaning.

Each service process has one settings class (``QueueSettings``,
``WorkerSettings``, ``InferenceSettings``), built from :func:`setting`; this
module knows none of them (``system/settings.py``, above both, lists them).  From it come:

- the command line: ``--flag`` for every field, its default read from the
  environment variable of the same meaning, then from the field's default;
- the checks: a field with ``at_least`` or ``above`` refuses a value outside
  them with a clear message, before anything starts (and a class's
  ``problem()`` may name what is wrong across fields);
- ``docs/api.md``'s table of settings (:func:`markdown_table`; ``python -m
  system.settings`` prints every process's, and a test compares);
- the environment a launcher gives the process (:func:`to_env`), so the
  acceptance harness starts the services from the same objects.

A field marked ``required`` must be given (the database URL); a ``bool``
field is a switch that the variable turns on with ``1``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import typing
from dataclasses import MISSING, dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Meta:
    env: str
    help: str
    flag: str | None = None  # default: the field's name with dashes and any _s/_ms unit kept out (see flag_of)
    at_least: float | None = None
    above: float | None = None
    shown_default: str | None = None  # what the docs say for a default that is computed (WORKER_NAME: host:pid)
    unit: str = ""  # what the default is counted in, for the docs ("s", "ms")
    internal: bool = False  # not a flag (a limit the service keeps, set only where it is built in code)
    required: bool = False  # the process cannot start without it (it has no default that would do)


def setting(default: Any = MISSING, *, env: str, help: str, flag: str | None = None, at_least: float | None = None,
            above: float | None = None, shown_default: str | None = None, unit: str = "", internal: bool = False,
            required: bool = False) -> Any:
    """A settings field: its environment variable, what it means, and the values it accepts."""
    meta = {"setting": Meta(env, help, flag, at_least, above, shown_default, unit, internal, required)}
    return dataclasses.field(metadata=meta) if default is MISSING else dataclasses.field(default=default, metadata=meta)


def fields(cls: type) -> list[tuple[dataclasses.Field, Meta]]:
    return [(f, f.metadata["setting"]) for f in dataclasses.fields(cls) if "setting" in f.metadata]


def flag_of(f: dataclasses.Field, meta: Meta) -> str:
    return meta.flag or "--" + f.name.replace("_", "-")


def _kind(cls: type, f: dataclasses.Field) -> type:
    """The field's value type: int, float, str or bool (``X | None`` is X)."""
    hint = typing.get_type_hints(cls)[f.name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return args[0] if args else hint


def _parse(kind: type, raw: str, name: str) -> Any:
    if kind is bool:
        return raw.strip().lower() in ("1", "true", "yes", "on")
    try:
        return kind(raw)
    except ValueError:
        raise SystemExit(f"{name}: {raw!r} is not {'an integer' if kind is int else 'a number'}") from None


def parser(cls: type, prog: str, description: str) -> argparse.ArgumentParser:
    """The process's command line; each default comes from the environment, then from the class."""
    p = argparse.ArgumentParser(prog=prog, description=description)
    for f, meta in fields(cls):
        if meta.internal:
            continue
        kind = _kind(cls, f)
        raw = os.environ.get(meta.env)
        default = _parse(kind, raw, meta.env) if raw not in (None, "") else (None if f.default is MISSING else f.default)
        shown = meta.shown_default or ("off" if kind is bool else default)
        text = f"{meta.help} ({meta.env}; default {shown})" if shown is not None else f"{meta.help} ({meta.env})"
        if kind is bool:
            p.add_argument(flag_of(f, meta), dest=f.name, action="store_true", default=default, help=text)
        else:
            p.add_argument(flag_of(f, meta), dest=f.name, type=kind, default=default, metavar=meta.env, help=text)
    return p


def from_args(cls: type[T], p: argparse.ArgumentParser, argv: list[str] | None = None) -> T:
    """Parse ``argv`` into ``cls``; a missing required setting or a value out of range ends with a usage error."""
    args = p.parse_args(argv)
    values = {}
    for f, meta in fields(cls):
        if meta.internal:
            continue
        value = getattr(args, f.name)
        if value is None and meta.required:
            p.error(f"{flag_of(f, meta)} (or {meta.env}) is required: {meta.help}")
        if value is not None and meta.at_least is not None and value < meta.at_least:
            p.error(f"{flag_of(f, meta)} must be at least {meta.at_least:g}, not {value}")
        if value is not None and meta.above is not None and value <= meta.above:
            p.error(f"{flag_of(f, meta)} must be more than {meta.above:g}, not {value}")
        values[f.name] = value
    settings = cls(**values)
    if hasattr(settings, "problem") and (problem := settings.problem()):
        p.error(problem)
    return settings


def parse(cls: type[T], prog: str, description: str, argv: list[str] | None = None) -> T:
    """A process's settings from its command line and environment (``python -m <prog> --help`` lists them)."""
    return from_args(cls, parser(cls, prog, description), argv)


def to_env(settings: Any) -> dict[str, str]:
    """The environment that gives a process exactly these settings (switches off are left out)."""
    env = {}
    for f, meta in fields(type(settings)):
        value = getattr(settings, f.name)
        if meta.internal or value is None or value is False:
            continue
        env[meta.env] = "1" if value is True else str(value)
    return env


def replace(settings: T, **changes: Any) -> T:
    """``settings`` with some fields changed; a name it does not have is an error, not a no-op."""
    unknown = set(changes) - {f.name for f in dataclasses.fields(settings)}
    if unknown:
        raise TypeError(f"{type(settings).__name__} has no setting {sorted(unknown)}")
    return dataclasses.replace(settings, **changes)


def markdown_table(cls: type) -> str:
    """The rows of docs/api.md's settings table for one process."""
    rows = ["| variable | flag | default | meaning |", "| --- | --- | --- | --- |"]
    for f, meta in fields(cls):
        if meta.internal:
            continue
        kind = _kind(cls, f)
        if meta.shown_default:
            default = meta.shown_default
        elif meta.required:
            default = "required"
        elif kind is bool:
            default = "off"
        elif f.default is None:
            default = "-"
        else:
            default = f"{f.default:g}" if isinstance(f.default, float) else str(f.default)
            default += f" {meta.unit}" if meta.unit else ""
        rows.append(f"| `{meta.env}` | `{flag_of(f, meta)}` | {default} | {meta.help} |")
    return "\n".join(rows)
