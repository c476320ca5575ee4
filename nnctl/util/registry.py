"""Registries: one per kind of named thing (datasets, activations, losses, inits, optimizers,
schedules). Each entry documents its hyperparameters once; validation, the config schema, the
CLI help and the docs are all generated from these declarations, never listed twice.

A hyperparameter is declared with a `Hyper`: its type, default, a one-line doc and an optional
range check. `Registry.resolve(name, given, where)` fills defaults and validates, raising a
`UsageError` that names the key path (`where`), what was expected and what was found.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nnctl.errors import UsageError, closest, shown, unknown_name


@dataclass(frozen=True)
class Hyper:
    """One documented hyperparameter.

    kind: "float" | "int" | "bool" | "str" | "floats" (a list of numbers) | "ints" | "any".
    check: returns True when the (type-converted) value is acceptable; `expect` says in words
    what is accepted, for the error message ("a number > 0", "in [0, 1)").
    choices: for kind "str", the accepted values.
    nullable: None is accepted (and means "not set").
    """

    name: str
    kind: str
    default: Any
    doc: str
    check: Callable[[Any], bool] | None = None
    expect: str = ""
    choices: tuple = ()
    nullable: bool = False

    def convert(self, value: Any, where: str) -> Any:
        """The value converted to this hyperparameter's type, or a UsageError naming `where`."""
        if value is None:
            if self.nullable:
                return None
            raise UsageError(f"{where}: expected {self.describe()}, found null")
        converted = _convert_kind(self.kind, value, where, self.describe())
        if self.kind == "str" and self.choices and converted not in self.choices:
            raise UsageError(
                f"{where}: expected one of {', '.join(map(str, self.choices))}, "
                f"found {shown(value)}{closest(value, self.choices)}"
            )
        if self.check is not None and not self.check(converted):
            raise UsageError(f"{where}: expected {self.describe()}, found {shown(value)}")
        return converted

    def describe(self) -> str:
        base = {
            "float": "a number",
            "int": "an integer",
            "bool": "true or false",
            "str": "a string",
            "floats": "a list of numbers",
            "ints": "a list of integers",
            "any": "a value",
        }[self.kind]
        if self.expect:
            base = f"{base} {self.expect}"
        if self.nullable:
            base += " (or null)"
        return base


INT_LIMIT = 2**31 - 1  # the largest integer setting (an int32): epochs, sizes, seeds, ...


def _short_int(value: int) -> str:
    text = repr(value) if value.bit_length() < 200 else None
    return text if text is not None else f"an integer of {value.bit_length()} bits"


# PyYAML follows YAML 1.1, which reads `1e-3` (no dot) as a string; people mean a number.
# The one pattern for that, used by config values and by command-line specs alike.
SCIENTIFIC_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def _convert_kind(kind: str, value: Any, where: str, expected: str) -> Any:
    def fail():
        return UsageError(
            f"{where}: expected {expected}, found {shown(value)} ({type(value).__name__})"
        )

    if kind == "any":
        return value
    if kind == "bool":
        if isinstance(value, bool):
            return value
        raise fail()
    if kind == "int":
        if isinstance(value, bool):
            raise fail()
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int):
            raise fail()
        if abs(value) > INT_LIMIT:
            # One bound for every count: beyond it a setting is a typo, and it would no longer
            # fit the int arrays and JSON a checkpoint stores it in.
            raise UsageError(
                f"{where}: expected {expected}, at most {INT_LIMIT}, found {_short_int(value)}"
            )
        return value
    if kind == "float":
        original = value
        if isinstance(value, str) and SCIENTIFIC_NUMBER.fullmatch(value.strip()):
            value = float(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise fail()
        try:
            value = float(value)
        except OverflowError:  # an integer beyond float64
            value = math.inf
        if not math.isfinite(value):
            # .inf, .nan, or 1e400 (read as inf): never a usable setting, and training with it
            # would end in a "divergence" that is really a typo.
            spelled = (
                original
                if isinstance(original, str)
                else _short_int(original)
                if isinstance(original, int)
                else shown(original)
            )
            # A setting whose own rule already says finite (init.bias) is not told twice.
            finite = "" if "finite" in expected else " (finite)"
            raise UsageError(f"{where}: expected {expected}{finite}, found {spelled}")
        return value
    if kind == "str":
        if isinstance(value, str):
            return value
        raise fail()
    if kind in ("floats", "ints"):
        items = value if isinstance(value, (list, tuple)) else None
        if items is None:
            raise fail()
        inner = "float" if kind == "floats" else "int"
        return tuple(
            _convert_kind(inner, v, f"{where}[{i}]", expected) for i, v in enumerate(items)
        )
    raise ValueError(f"unknown hyperparameter kind {kind!r}")


# Range checks shared by every registry, so the same words appear in every message.
def positive(v) -> bool:
    return v > 0


def non_negative(v) -> bool:
    return v >= 0


def unit_open(v) -> bool:
    """In [0, 1)."""
    return 0 <= v < 1


def probability(v) -> bool:
    """In [0, 1]."""
    return 0 <= v <= 1


def all_in_unit_open(values) -> bool:
    return all(0 <= v < 1 for v in values)


def check_keys(given: dict, allowed, where: str, owner: str | None = None) -> None:
    """UsageError at the first key of `given` not in `allowed`, naming its path and the closest
    allowed key. `owner` ("optimizer 'adam'") words it as a setting of that entry."""
    allowed = list(allowed)
    for key in given:
        if key in allowed:
            continue
        path = f"{where}.{key}" if where else str(key)
        if owner is not None:
            listing = ", ".join(sorted(allowed)) or "none"
            raise UsageError(
                f"{path}: unknown setting for {owner}{closest(key, allowed)}; "
                f"its settings are: {listing}"
            )
        raise UsageError(
            f"{path}: unknown key{closest(key, allowed)}; expected one of: {', '.join(allowed)}"
        )


@dataclass
class Entry:
    """A registered thing: `build` is the function or class; `hypers` its parameters."""

    name: str
    build: Any
    doc: str
    hypers: tuple[Hyper, ...] = ()
    aliases: tuple[str, ...] = ()
    info: dict = field(default_factory=dict)  # free-form facts (e.g. a dataset's size, task)

    def defaults(self) -> dict:
        return {h.name: h.default for h in self.hypers}


class Registry:
    """Names to entries for one kind of thing ("optimizer", "activation", ...)."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Entry] = {}
        self._aliases: dict[str, str] = {}

    def register(self, name: str, doc: str, hypers=(), aliases=(), **info):
        """Decorator: `@REG.register("adam", "Adam (Kingma & Ba)", hypers=(...))`."""

        def deco(obj):
            self.add(Entry(name, obj, doc, tuple(hypers), tuple(aliases), dict(info)))
            return obj

        return deco

    def add(self, entry: Entry) -> Entry:
        if entry.name in self._entries or entry.name in self._aliases:
            raise ValueError(f"{self.kind} {entry.name!r} registered twice")
        self._entries[entry.name] = entry
        for alias in entry.aliases:
            self._aliases[alias] = entry.name
        return entry

    def names(self) -> list[str]:
        return list(self._entries)

    def all_names(self) -> list[str]:
        """Names and aliases: everything a user may type."""
        return list(self._entries) + list(self._aliases)

    def entries(self) -> list[Entry]:
        return list(self._entries.values())

    def __contains__(self, name) -> bool:
        # Only strings are names; a list or mapping from `-s optimizer.name=[1]` is not hashable.
        return isinstance(name, str) and (name in self._entries or name in self._aliases)

    def get(self, name: str, where: str = "") -> Entry:
        if not isinstance(name, str):
            prefix = f"{where}: " if where else ""
            raise UsageError(f"{prefix}expected the name of a {self.kind}, found {name!r}")
        canonical = self._aliases.get(name, name)
        try:
            return self._entries[canonical]
        except KeyError:
            raise unknown_name(self.kind, name, self.all_names(), where) from None

    def resolve(self, name: str, given: dict | None, where: str) -> dict:
        """All hyperparameters of `name`: `given` validated, the rest at their defaults.

        `where` is the key path of the mapping holding them (e.g. "optimizer"), used in messages
        as "optimizer.lr: expected a number > 0, found -1".
        """
        entry = self.get(name, where)
        given = dict(given or {})
        check_keys(
            given, [h.name for h in entry.hypers], where, owner=f"{self.kind} {entry.name!r}"
        )
        out = {}
        for h in entry.hypers:
            out[h.name] = (
                h.convert(given[h.name], f"{where}.{h.name}") if h.name in given else h.default
            )
        return out
