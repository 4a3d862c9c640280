"""The run plan: what to benchmark, how, and for how long. Validated here, once, with actionable errors."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from infbench.errors import ConfigError

SCHEDULES = ("interleaved", "sequential", "concurrent")
DEFAULT_MODEL = "bert-small"


@dataclass(frozen=True)
class BackendSpec:
    """One backend to run.

    Attributes:
        backend: canonical backend name (``onnxruntime``, ``openvino``, ``torch``, ``null``).
        label: unique name within the run: ``onnxruntime``; a backend given several times is labelled by the
            options that differ (``onnxruntime`` and ``onnxruntime[threads=1]``), ``onnxruntime#2`` when identical.
        options: backend options (threads, providers, device, hint, …); see each engine's docstring.
    """

    backend: str
    label: str
    options: dict[str, Any] = field(default_factory=dict)
    roles: tuple[str, ...] = ()
    twin_of: str | None = None

    @property
    def is_control(self) -> bool:
        """A harness control (the engine declares the `control` role): never a winner, no parity."""
        return "control" in self.roles

    def to_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return {"backend": self.backend, "label": self.label, "options": dict(self.options),
                "roles": list(self.roles), "twin_of": self.twin_of}


@dataclass(frozen=True)
class WorkloadSpec:
    """The inputs: identical for every backend, in the same order.

    Attributes:
        batch: batch size.
        seq: sequence length (the maximum when `seq_dist` is set).
        seq_dist: None for fixed `seq`; ``uniform:LO-HI``, ``normal:MEAN,STD`` or ``file:PATH`` (text lines
            tokenized with the model's tokenizer).
        seed: RNG seed for token ids and lengths.
        cycle: number of distinct inputs generated and cycled through.
    """

    batch: int = 1
    seq: int = 128
    seq_dist: str | None = None
    seed: int = 0
    cycle: int = 64

    def to_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class RunPlan:
    """Everything that defines a run. Serialised into every session file.

    Attributes:
        model: built-in model name, path to a ``.onnx`` file, or a local Hugging Face model directory.
        backends: the backends to run (at least one).
        workload: the inputs.
        duration_s: minimum measured seconds per backend.
        iterations: minimum measured calls per backend.
        warmup_iterations: warm-up calls per backend (recorded, flagged, excluded from stats).
        warmup_s: warm-up seconds per backend (used when larger than the count would take).
        schedule: ``interleaved`` | ``sequential`` | ``concurrent``.
        block_s: length of one turn in the interleaved schedule.
        seed: seed for the schedule's shuffling.
        timeout_s: watchdog: an engine silent for this long is killed and reported as hung.
        parity_tolerance: max abs difference of outputs vs the reference backend before it is *degraded*.
    """

    model: str = DEFAULT_MODEL
    backends: tuple[BackendSpec, ...] = ()
    workload: WorkloadSpec = field(default_factory=WorkloadSpec)
    duration_s: float = 10.0
    iterations: int = 100
    warmup_iterations: int = 10
    warmup_s: float = 0.0
    schedule: str = "interleaved"
    block_s: float = 0.25
    seed: int = 0
    timeout_s: float = 120.0
    parity_tolerance: float = 1e-3

    def __post_init__(self) -> None:
        validate_plan(self)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict."""
        d = dataclasses.asdict(self)
        d["backends"] = [b.to_dict() for b in self.backends]
        d["workload"] = self.workload.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunPlan:
        """Inverse of `to_dict`; unknown keys are ignored."""
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        known["backends"] = tuple(
            BackendSpec(b["backend"], b["label"], dict(b.get("options", {}))) for b in d.get("backends", [])
        )
        wl = d.get("workload", {})
        known["workload"] = WorkloadSpec(
            **{k: v for k, v in wl.items() if k in WorkloadSpec.__dataclass_fields__}
        )
        return cls(**known)

    @property
    def labels(self) -> list[str]:
        """Backend labels in plan order."""
        return [b.label for b in self.backends]


_SEQ_DIST = re.compile(r"^(uniform:\d+-\d+|normal:\d+(\.\d+)?,\d+(\.\d+)?|file:.+)$")


def validate_plan(plan: RunPlan) -> None:
    """Raise ConfigError naming the first bad field of `plan`."""
    if not plan.backends:
        raise ConfigError("no backend to run: pass --backend NAME (onnxruntime, openvino, torch, null)")
    labels = [b.label for b in plan.backends]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"backend labels must be unique, got {labels}")
    wl = plan.workload
    if wl.batch < 1:
        raise ConfigError(f"--batch must be a positive integer, got {wl.batch}")
    if wl.seq < 1:
        raise ConfigError(f"--seq must be a positive integer, got {wl.seq}")
    if wl.cycle < 1:
        raise ConfigError(f"input cycle must be positive, got {wl.cycle}")
    if wl.seq_dist is not None and not _SEQ_DIST.match(wl.seq_dist):
        raise ConfigError(
            f"--seq-dist {wl.seq_dist!r} not understood: use uniform:LO-HI, normal:MEAN,STD or file:PATH"
        )
    if not plan.duration_s > 0:
        raise ConfigError(f"--duration must be positive seconds, got {plan.duration_s}")
    if plan.iterations < 1:
        raise ConfigError(f"--iterations must be a positive integer, got {plan.iterations}")
    if plan.warmup_iterations < 0 or plan.warmup_s < 0:
        raise ConfigError("--warmup must not be negative")
    if plan.schedule not in SCHEDULES:
        raise ConfigError(f"--schedule must be one of {', '.join(SCHEDULES)}, got {plan.schedule!r}")
    if not plan.block_s > 0:
        raise ConfigError(f"block length must be positive, got {plan.block_s}")
    if not plan.timeout_s > 0:
        raise ConfigError(f"--timeout must be positive seconds, got {plan.timeout_s}")


def parse_backend_arg(arg: str) -> tuple[str, dict[str, Any]]:
    """Parse ``NAME[:key=value,key=value]`` into (name, options). Values are int/float when they look so."""
    name, _, rest = arg.partition(":")
    name = name.strip()
    if not name:
        raise ConfigError(f"--backend {arg!r}: empty backend name")
    options: dict[str, Any] = {}
    if rest:
        for item in rest.split(","):
            key, eq, value = item.partition("=")
            if not eq or not key.strip():
                raise ConfigError(f"--backend {arg!r}: options are key=value separated by commas")
            options[key.strip()] = _coerce(value.strip())
    return name, options


def _coerce(value: str) -> Any:
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def unique_labels(names: list[str]) -> list[str]:
    """Labels for backends in order: the name, then ``name#2``, ``name#3`` for repeats."""
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}#{seen[n]}")
    return out


_MISSING = object()


def variant_labels(specs: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Labels for (backend, options) pairs in order: a backend given more than once is labelled by the options
    that differ between its variants, so every row says what it ran.

    ``[("onnxruntime", {}), ("onnxruntime", {"threads": 1})]`` → ``["onnxruntime", "onnxruntime[threads=1]"]``;
    options shared by all variants are left out of the label; variants with identical options (and any label
    still taken) get ``#2``, ``#3``.
    """
    groups: dict[str, list[dict[str, Any]]] = {}
    for name, options in specs:
        groups.setdefault(name, []).append(options)
    differing: dict[str, list[str]] = {}
    for name, variants in groups.items():
        keys: list[str] = []
        for variant in variants:
            keys.extend(k for k in variant if k not in keys)
        differing[name] = [k for k in keys if len({repr(v.get(k, _MISSING)) for v in variants}) > 1]
    out: list[str] = []
    for name, options in specs:
        shown = [f"{k}={options[k]}" for k in differing[name] if k in options]
        out.append(f"{name}[{','.join(shown)}]" if shown else name)
    return unique_labels(out)
