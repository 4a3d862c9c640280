"""Engine option schemas: what each option of an engine is, and how a raw value becomes a typed one.

An engine declares its options once (`OptionSchema` in its `EngineInfo`); the parent validates every
``-b NAME:key=value`` and sweep value against it before any child process starts, so a typo is one line and exit
2, never a failed child. Values arrive as text from the command line or already typed from a stored plan or
the Python API; `Option.parse` takes both and is idempotent (parsing a parsed value gives it back).
"""

from __future__ import annotations

import difflib
import importlib.util
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from infbench.errors import ConfigError

KINDS = ("int", "float", "bool", "str", "choice", "list")
LIST_SEPARATOR = "+"  # items of a list value on the command line (the comma separates options)
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


def _fail(where: str | None, problem: str) -> ConfigError:
    text = f"{where}: {problem}" if where else problem
    return ConfigError(" ".join(text.split()))  # always one line, whatever the value held


def _show(raw: Any) -> str:
    text = raw if isinstance(raw, str) else repr(raw)
    return text if len(text) <= 40 else text[:37] + "…"


@dataclass(frozen=True)
class Option:
    """One option of an engine.

    Attributes:
        name: the key users type (``threads``).
        kind: ``int`` | ``float`` | ``bool`` | ``str`` | ``choice`` | ``list`` (a list of `choices`, items
            separated by ``+`` on the command line).
        help: one line for ``--help``, the README table and `models`.
        choices: allowed values of a ``choice`` (or of each ``list`` item), in their canonical spelling.
        default: the value the engine uses when the option is not given; None means the backend's own default.
        minimum: lowest allowed value of an ``int``/``float``.
        normalise: applied to text before matching (e.g. ``str.upper`` for OpenVINO devices).
        aliases: other spellings of choice values → the canonical one (``trt`` → ``TensorrtExecutionProvider``).
        pattern: a ``choice``/``str`` value that is not one of `choices` is still valid when it matches this
            regular expression in full (``cuda:\\d+``); `pattern_help` names it in messages (``cuda:N``).
        type_help: how the value is written, for docs, when `type_text` would be too long.
        only_with: other options this one needs, name → value (``{"compile": True}``): giving this option when
            one of them is not so (given with the same options, else its default) is a ConfigError.
        requires: import names a value needs beyond the engine's own packages (``int8`` → ``("nncf",)``):
            validation refuses that value, naming them, where one cannot be found (before anything starts).
    """

    name: str
    kind: str
    help: str
    choices: tuple[str, ...] = ()
    default: Any = None
    minimum: float | None = None
    normalise: Callable[[str], str] | None = None
    aliases: Mapping[str, str] = field(default_factory=dict)
    pattern: str | None = None
    pattern_help: str | None = None
    type_help: str | None = None
    only_with: Mapping[str, Any] = field(default_factory=dict)
    requires: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"option {self.name}: kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.kind in ("choice", "list") and not self.choices:
            raise ValueError(f"option {self.name}: a {self.kind} needs choices")

    @property
    def type_text(self) -> str:
        """How the value is written: ``int ≥ 1``, ``disable | basic | …``, ``list of cpu | cuda (a+b)``."""
        if self.type_help:
            return self.type_help
        if self.kind in ("int", "float"):
            return self.kind if self.minimum is None else f"{self.kind} ≥ {self.minimum:g}"
        if self.kind == "bool":
            return "true | false"
        shown = [*self.choices, *([self.pattern_help] if self.pattern_help else [])]
        if self.kind == "choice":
            return " | ".join(shown)
        if self.kind == "list":
            return f"list of {' | '.join(shown)}, joined by {LIST_SEPARATOR}"
        return self.pattern_help or "text"

    def valid_text(self) -> str:
        """The valid values, as one phrase for error messages."""
        if self.kind in ("int", "float"):
            kind = "an integer" if self.kind == "int" else "a number"
            return kind if self.minimum is None else f"{kind} ≥ {self.minimum:g}"
        if self.kind == "bool":
            return "true or false"
        if self.kind == "str":
            return f"text like {self.pattern_help}" if self.pattern_help else "non-empty text"
        return "one of " + ", ".join([*self.choices, *([self.pattern_help] if self.pattern_help else [])])

    def missing_for(self, value: Any) -> list[str]:
        """Import names that typed `value` requires (`requires`) and that cannot be found, without importing."""
        missing = []
        for module in self.requires.get(value_text(value), ()):
            try:
                found = importlib.util.find_spec(module) is not None
            except (ImportError, ValueError):
                found = False
            if not found:
                missing.append(module)
        return missing

    def parse(self, raw: Any, where: str | None = None) -> Any:
        """The typed value of `raw` (text, or an already typed value); ConfigError in one line otherwise.

        `where` prefixes the message (``--backend ort:graph_opt=fast``).
        """
        try:
            return self._parse(raw)
        except (ValueError, TypeError, OverflowError):
            if self.kind == "list":
                problem = f"each item of {self.name} must be {self.valid_text()}"
            elif self.kind in ("choice", "str", "bool"):
                problem = f"{self.name} must be {self.valid_text()}"
            else:
                problem = f"{self.name} must be {self.valid_text()}, got {_show(raw)}"
            raise _fail(where, problem) from None

    def _parse(self, raw: Any) -> Any:
        if self.kind == "int":
            return self._bounded(_as_int(raw))
        if self.kind == "float":
            return self._bounded(_as_float(raw))
        if self.kind == "bool":
            return _as_bool(raw)
        if self.kind == "list":
            # a comma also separates items where no option list is around them (a stored plan, the Python API)
            items = re.split(r"[+,]", raw) if isinstance(raw, str) else raw
            if not isinstance(items, (list, tuple)) or not items:
                raise ValueError("not a list")
            return [self._choice(item) for item in items]
        if self.kind == "choice":
            return self._choice(raw)
        return self._text(raw)

    def _bounded(self, value: int | float) -> int | float:
        if self.minimum is not None and value < self.minimum:
            raise ValueError("below the minimum")
        return value

    def _text(self, raw: Any) -> str:
        if not isinstance(raw, str) or not raw.strip():
            raise ValueError("not text")
        text = raw.strip()
        text = self.normalise(text) if self.normalise else text
        if not text.isprintable():  # it goes into labels and one-line messages
            raise ValueError("control characters")
        if self.pattern is not None and not re.fullmatch(self.pattern, text):
            raise ValueError("no match")
        return text

    def _choice(self, raw: Any) -> str:
        if isinstance(raw, int) and not isinstance(raw, bool) and self.pattern is not None:
            raw = str(raw)  # a number a pattern allows (``keep=20000`` given as an int)
        if not isinstance(raw, str):
            raise ValueError("not text")
        text = raw.strip()
        text = self.normalise(text) if self.normalise else text
        folded = text.lower()
        for choice in self.choices:
            if folded == choice.lower():
                return choice
        for alias, target in self.aliases.items():
            if folded == alias.lower():
                return target
        if self.pattern is not None and re.fullmatch(self.pattern, text):
            return text
        raise ValueError("not a choice")


def _as_int(raw: Any) -> int:
    if isinstance(raw, bool):
        raise TypeError("a bool is not an int")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and re.fullmatch(r"[+-]?[0-9]{1,18}", raw.strip()):
        return int(raw.strip())
    raise ValueError("not an integer")


def _as_float(raw: Any) -> float:
    if isinstance(raw, bool):
        raise TypeError("a bool is not a number")
    if isinstance(raw, str) and not raw.isascii():
        raise ValueError("not an ASCII number")
    value = float(raw) if isinstance(raw, (int, float, str)) else math.nan
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def _as_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("not a bool")


def value_text(value: Any) -> str:
    """A typed value as users write it (``true``, not ``True``)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def option_key(raw: str) -> str:
    """How an option key is matched: trimmed, lower case, ``-`` as ``_`` (``Inter-Threads`` → ``inter_threads``)."""
    return raw.strip().lower().replace("-", "_")


@dataclass(frozen=True)
class OptionSchema:
    """The ordered options of one engine."""

    options: tuple[Option, ...] = ()

    def __post_init__(self) -> None:
        names = {o.name for o in self.options}
        for option in self.options:
            for name in option.only_with:
                if name not in names:
                    raise ValueError(
                        f"option {option.name} is only with {name!r}, which is not an option here"
                    )

    def __iter__(self) -> Iterator[Option]:
        return iter(self.options)

    def __len__(self) -> int:
        return len(self.options)

    @property
    def names(self) -> list[str]:
        """Option names in declaration order."""
        return [o.name for o in self.options]

    def get(self, name: str) -> Option | None:
        """The option called `name` (matched as `option_key` does), or None."""
        key = option_key(name)
        return next((o for o in self.options if o.name == key), None)

    def validate(self, engine: str, raw: Mapping[str, Any], where: str | None = None) -> dict[str, Any]:
        """Typed options from `raw` (key → text or value), in the order given.

        Raises:
            ConfigError: one line: an unknown key (naming the valid ones, with a "did you mean" when close), a
                bad value (naming the valid values) or a value whose extra packages are missing (naming them);
                `where` prefixes it.
        """
        out: dict[str, Any] = {}
        for key, value in raw.items():
            option = self.get(str(key))
            if option is None:
                raise _fail(where, self.unknown_text(engine, str(key)))
            typed = option.parse(value, where)
            missing = option.missing_for(typed)
            if missing:
                raise _fail(
                    where,
                    f"{engine} {option.name}={value_text(typed)} needs {', '.join(missing)}, which is not "
                    f"installed: pip install {' '.join(missing)}",
                )
            out[option.name] = typed
        for option in self.options:
            if option.name in out:
                self._check_only_with(option, out, where)
        return out

    def _check_only_with(self, option: Option, given: Mapping[str, Any], where: str | None) -> None:
        """ConfigError when an option of `option.only_with` is neither given nor defaulted to the value needed."""
        for name, needed in option.only_with.items():
            other = self.get(name)
            value = given.get(name, other.default if other is not None else None)
            if value != needed:
                want = f"{name}={value_text(needed)}"
                raise _fail(where, f"{option.name} needs {want}: add {want} or drop {option.name}")

    def unknown_text(self, engine: str, key: str) -> str:
        """``unknown option 'thread' for onnxruntime: valid are threads, … (did you mean threads?)``."""
        valid = ", ".join(self.names) if self.options else "none (it takes no options)"
        close = difflib.get_close_matches(option_key(key), self.names, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]}?)" if close else ""
        return f"unknown option {_show(key)!r} for {engine}: valid are {valid}{hint}"

    def resolve(self, engine: str, raw: Mapping[str, Any]) -> dict[str, Any]:
        """`validate`, then the declared default of every option not given (options without one stay unset)."""
        out = self.validate(engine, raw)
        for option in self.options:
            if option.name not in out and option.default is not None:
                out[option.name] = option.default
        return out
