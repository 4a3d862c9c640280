"""The workload's options, declared once: name, kind, default, help, validation.

`WORKLOAD_OPTIONS` is the one declaration the command line (`commands.plan_args` adds a flag per option), plan
building (`plan.build` parses the arguments with it), the stored plan (`plan.spec.WorkloadSpec` has a field per
option, validated by `validate_workload`) and the setup form (the options with a `form` label) read. Adding a
workload option is one entry here plus its `WorkloadSpec` field.

Values arrive as text (the command line, the form) or already typed (a stored plan, the Python API, a caller
that sets ``batch=1``); `WorkloadOption.parse` takes both and is idempotent.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from infbench.errors import ConfigError

KINDS = ("int", "ints", "choice", "text", "passes")
TASKS = ("prefill", "generate")
PADDINGS = ("longest", "fixed")
DEFAULT_PASSES = 3  # --whole-corpus without N
_SEQ_DIST = re.compile(r"^(uniform:\d+-\d+|normal:\d+(\.\d+)?,\d+(\.\d+)?|file:.+)$")


def _check_seq_dist(value: str) -> str | None:
    return (
        None if _SEQ_DIST.match(value) else "not understood: use uniform:LO-HI, normal:MEAN,STD or file:PATH"
    )


def _show(raw: Any) -> str:
    flat = " ".join(str(raw).split())
    return flat if len(flat) <= 40 else flat[:37] + "…"


@dataclass(frozen=True)
class WorkloadOption:
    """One workload option.

    Attributes:
        name: the `WorkloadSpec` field and the argparse destination (``new_tokens`` → ``--new-tokens``).
        kind: ``int``; ``ints`` (a comma-separated list of ints, as ``--batch 1,8,32``: each value a variant);
            ``choice`` (one of `choices`); ``text`` (None when not given); ``passes`` (an optional count: 0 when
            off, `const` when the flag is given without a value).
        help: the ``--help`` text.
        default: the value when not given (an ``ints`` option: its single default value).
        choices: a ``choice``'s values.
        minimum: the lowest value of an ``int``/``ints``/``passes``.
        metavar: argparse metavar.
        const: a ``passes`` flag given alone.
        form: the setup form's label for it (None: not in the form).
        placeholder: the form field's placeholder.
        check: further validation of a typed ``text`` value: a problem phrase, or None when valid.
    """

    name: str
    kind: str
    help: str
    default: Any = None
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    metavar: str | None = None
    const: Any = None
    form: str | None = None
    placeholder: str = ""
    check: Callable[[str], str | None] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(
                f"workload option {self.name}: kind {self.kind!r} is not one of {', '.join(KINDS)}"
            )
        if self.kind == "choice" and self.default not in self.choices:
            raise ValueError(f"workload option {self.name}: default {self.default!r} is not a choice")

    @property
    def flag(self) -> str:
        """The command-line flag: ``--new-tokens``."""
        return "--" + self.name.replace("_", "-")

    def valid_text(self) -> str:
        """The valid values, as one phrase for error messages."""
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        bound = "" if self.minimum is None else f" ≥ {self.minimum}"
        if self.kind == "ints":
            return f"integers{bound} separated by commas (e.g. 1,8,32)"
        if self.kind in ("int", "passes"):
            return f"an integer{bound}"
        return "non-empty text"

    def convert(self, raw: Any) -> Any:
        """The typed value of `raw`, syntax only (ranges and choices are `parse`'s).

        Raises:
            ValueError / TypeError: not of the option's kind.
        """
        if raw is None:
            return self.default_value()
        if self.kind == "int":
            return _as_int(raw)
        if self.kind == "passes":
            return self.const if raw is True else _as_int(raw)
        if self.kind == "ints":
            items = [t.strip() for t in raw.split(",")] if isinstance(raw, str) else raw
            if not isinstance(items, (list, tuple)):
                items = [items]
            values = [_as_int(t) for t in items if not (isinstance(t, str) and not t)]
            if not values:
                raise ValueError("empty list")
            return list(dict.fromkeys(values))  # duplicates dropped, order kept
        if self.kind == "choice":
            if not isinstance(raw, str):
                raise TypeError("not text")
            return raw.strip().lower()
        if not isinstance(raw, str):
            raise TypeError("not text")
        return raw.strip() or None

    def parse(self, raw: Any, where: str | None = None) -> Any:
        """The typed, validated value of `raw`; ConfigError in one line (prefixed with `where`, default the
        flag) otherwise."""
        where = where or self.flag
        try:
            value = self.convert(raw)
        except (ValueError, TypeError, OverflowError):
            raise ConfigError(f"{where} must be {self.valid_text()}, got {_show(raw)}") from None
        problem = self.problem(value)
        if problem:
            raise ConfigError(f"{where} {problem}")
        return value

    def problem(self, value: Any) -> str | None:
        """What is wrong with typed `value` (a phrase after the flag), or None when it is valid."""
        if self.kind == "choice" and value not in self.choices:
            return f"must be {self.valid_text()}, got {_show(value)}"
        if self.kind in ("int", "passes", "ints") and self.minimum is not None:
            values = value if isinstance(value, list) else [value]
            bad = [v for v in values if not (self.kind == "passes" and v == 0) and v < self.minimum]
            if bad:
                return f"must be {self.valid_text()}, got {bad[0]}"
        if self.kind == "text" and value is not None:
            if not str(value).isprintable():
                return "must be text on one line"
            if self.check is not None:
                phrase = self.check(str(value))
                if phrase:
                    return f"{_show(value)} {phrase}"
        return None

    def default_value(self) -> Any:
        """The typed default (an ``ints`` option: a one-item list; ``passes``: 0, off)."""
        if self.kind == "ints":
            return [self.default]
        if self.kind == "passes":
            return 0
        return self.default

    def form_text(self, value: Any) -> str:
        """`value` as the form's field shows it (a list joined by commas, None and 0-passes empty)."""
        if value is None or (self.kind == "passes" and not value):
            return ""
        if isinstance(value, (list, tuple)):
            return ",".join(str(v) for v in value)
        return str(value)

    def add_argument(self, parser: argparse.ArgumentParser) -> None:
        """Add this option's flag to `parser` (syntax checked by argparse, ranges by plan building)."""
        kwargs: dict[str, Any] = {
            "help": self.help,
            "default": None,
            "metavar": self.metavar,
            "type": self._syntax,
        }
        if self.kind == "passes":
            kwargs.update(nargs="?", const=self.const)
        parser.add_argument(self.flag, **kwargs)

    def _syntax(self, text: str) -> Any:
        try:
            return self.convert(text)
        except (ValueError, TypeError, OverflowError):
            raise argparse.ArgumentTypeError(f"must be {self.valid_text()}, got {_show(text)}") from None


def _as_int(raw: Any) -> int:
    if isinstance(raw, bool):
        raise TypeError("a bool is not an int")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and re.fullmatch(r"[+-]?[0-9]{1,9}", raw.strip()):
        return int(raw.strip())
    raise ValueError("not an integer")


WORKLOAD_OPTIONS: tuple[WorkloadOption, ...] = (
    WorkloadOption(
        "batch",
        "ints",
        "batch size, or a list (1,8,32,64,128): each backend runs as one variant per batch size, labelled "
        "NAME[batch=8] (default 1)",
        default=1,
        minimum=1,
        metavar="N[,N…]",
        form="batch",
        placeholder="1 or 1,8,32",
    ),
    WorkloadOption(
        "seq",
        "int",
        "sequence length, or the maximum with --seq-dist (default 128)",
        default=128,
        minimum=1,
        metavar="N",
        form="seq",
    ),
    WorkloadOption(
        "seq_dist",
        "text",
        "variable lengths: uniform:LO-HI, normal:MEAN,STD, or file:PATH (one text per line, tokenized with the "
        "model's tokenizer: needs a local Hugging Face model directory with tokenizer files; built-in models "
        "and .onnx files have none)",
        metavar="DIST",
        check=_check_seq_dist,
    ),
    WorkloadOption(
        "corpus",
        "text",
        "real texts as inputs instead of random ids: builtin (the built-in corpus, 1000 sentences) or a "
        "txt/JSONL/CSV/Parquet file; `batch` consecutive texts per call, cut at --seq, padded as --padding "
        "says (masked), the whole corpus cycled in order (the last batch completed with the first texts). "
        "Built-in models use a tokenizer trained offline on the built-in corpus, a Hugging Face directory its "
        "own; an .onnx file has none. Excludes --seq-dist",
        metavar="builtin|FILE",
        form="corpus",
        placeholder="none, builtin or a file",
    ),
    WorkloadOption(
        "corpus_column",
        "text",
        "the text column/field of a JSONL, CSV or Parquet --corpus file (default text)",
        metavar="NAME",
    ),
    WorkloadOption(
        "padding",
        "choice",
        "padding of inputs of varying length (--corpus, --seq-dist): longest (default: each batch padded to its "
        "longest text) or fixed (every input padded to --seq); padding is masked and never counted in tokens/s",
        default="longest",
        choices=PADDINGS,
        metavar="longest|fixed",
        form="padding",
        placeholder="longest or fixed",
    ),
    WorkloadOption(
        "whole_corpus",
        "passes",
        f"time whole passes over the --corpus: each variant measures at least N full passes (default "
        f"{DEFAULT_PASSES}; every text once per pass, batched), on top of -d/-n; the report adds the time per "
        "pass (median, 95 %% CI), sentences/s and real tokens/s per variant",
        minimum=1,
        metavar="N",
        const=DEFAULT_PASSES,
        form="passes",
        placeholder=f"whole corpus: N (e.g. {DEFAULT_PASSES})",
    ),
    WorkloadOption(
        "task",
        "choice",
        "prefill (default: one forward pass over the input) or generate (greedy decoding of --new-tokens "
        "after a --prompt-len prompt; needs a causal LM, e.g. gpt2-tiny, and engines that generate)",
        default="prefill",
        choices=TASKS,
        metavar="prefill|generate",
    ),
    WorkloadOption(
        "prompt_len",
        "int",
        "--task generate: prompt tokens per sequence (default 32): with --corpus consecutive windows of its "
        "token stream (texts tokenized in order and joined: real text, no padding), else random ids",
        default=32,
        minimum=1,
        metavar="N",
    ),
    WorkloadOption(
        "new_tokens",
        "int",
        "--task generate: tokens generated per sequence, at least 2 (inter-token latency needs two) (default 32)",
        default=32,
        minimum=2,
        metavar="N",
    ),
)
BY_NAME: dict[str, WorkloadOption] = {o.name: o for o in WORKLOAD_OPTIONS}


def workload_option(name: str) -> WorkloadOption:
    """The declared workload option `name` (KeyError for an unknown one)."""
    return BY_NAME[name]


def add_workload_arguments(parser: argparse.ArgumentParser) -> None:
    """A flag per workload option."""
    for option in WORKLOAD_OPTIONS:
        option.add_argument(parser)


def workload_values(args: argparse.Namespace | Mapping[str, Any]) -> dict[str, Any]:
    """Every workload option's typed, validated value from parsed arguments (missing ones: their default).

    Raises:
        ConfigError: one line naming the flag and the valid values.
    """
    get = args.get if isinstance(args, Mapping) else (lambda k: getattr(args, k, None))
    return {o.name: o.parse(get(o.name)) for o in WORKLOAD_OPTIONS}


def validate_workload(values: Mapping[str, Any]) -> None:
    """Check a stored workload's fields against their declarations, then the rules between them.

    Raises:
        ConfigError: one line naming the first bad flag.
    """
    for option in WORKLOAD_OPTIONS:
        if option.name not in values:
            continue
        value = values[option.name]
        if option.kind == "ints" and not isinstance(value, list):
            value = [value]
        try:
            problem = option.problem(value)
        except TypeError:
            problem = f"must be {option.valid_text()}, got {_show(value)}"
        if problem:
            raise ConfigError(f"{option.flag} {problem}")
    corpus, dist = values.get("corpus"), values.get("seq_dist")
    if corpus is not None and dist is not None:
        raise ConfigError("--corpus and --seq-dist exclude each other: the corpus's texts give the lengths")
    if values.get("corpus_column") is not None and corpus is None:
        raise ConfigError("--corpus-column needs --corpus FILE (a JSONL, CSV or Parquet corpus)")
    if values.get("whole_corpus") and corpus is None:
        raise ConfigError("--whole-corpus needs --corpus builtin|FILE: it times full passes over a corpus")
    if dist is not None and values.get("task") == "generate":
        raise ConfigError(
            "--seq-dist does not apply to --task generate: prompts are --prompt-len tokens long"
        )
    if values.get("whole_corpus") and values.get("task") == "generate":
        raise ConfigError(
            "--whole-corpus times prefill passes over the corpus: it does not go with --task generate"
        )
