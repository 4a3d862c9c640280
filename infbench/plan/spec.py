"""The run plan: what to benchmark, how, and for how long. Validated here, once, with actionable errors."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from infbench.errors import ConfigError
from infbench.plan.workload import validate_workload
from infbench.vocab import Role

SCHEDULES = ("interleaved", "sequential", "concurrent")
DEFAULT_MODEL = "bert-small"
# --min-agreement's default, %. Measured at seq 128 (issue 15): bert-tiny INT8/bf16 variants (ORT dynamic INT8,
# OpenVINO bf16, NNCF int8-weights and int8) agree on 96.9–98.4 % of the labels, bert-small's on 100 %; a broken
# variant (garbage or shuffled logits) at chance, about 1 in 9. 90 catches the broken ones and leaves room for short
# inputs, where one flipped label of 16 costs 6 %. Trained heads have wider margins: raise it for those (99).
DEFAULT_MIN_AGREEMENT = 90.0


@dataclass(frozen=True)
class BackendSpec:
    """One backend to run.

    Attributes:
        backend: canonical backend name (``onnxruntime``, ``openvino``, ``torch``, ``null``).
        label: unique name within the run: ``onnxruntime``; a backend given several times is labelled by the
            options that differ (``onnxruntime`` and ``onnxruntime[threads=1]``), ``onnxruntime#2`` when identical.
        options: engine options, validated and typed against the engine's `OptionSchema` by `plan.build`.
        roles: `vocab.Role` values: the engine's declared roles (``control``), ``aa-twin`` for an A/A twin.
        twin_of: the label of the variant an A/A twin repeats, else None.
    """

    backend: str
    label: str
    options: dict[str, Any] = field(default_factory=dict)
    roles: tuple[str, ...] = ()
    twin_of: str | None = None

    def __post_init__(self) -> None:
        # The engine's declared roles belong to every variant of it, however the spec was built.
        declared = engine_roles(self.backend)
        missing = tuple(r for r in declared if r not in self.roles)
        if missing or not isinstance(self.roles, tuple):
            object.__setattr__(self, "roles", (*missing, *(str(r) for r in self.roles)))

    @property
    def is_control(self) -> bool:
        """A harness control (the engine declares the `control` role): never a winner, no parity."""
        return Role.CONTROL in self.roles

    def to_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return {
            "backend": self.backend,
            "label": self.label,
            "options": dict(self.options),
            "roles": list(self.roles),
            "twin_of": self.twin_of,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BackendSpec:
        """Inverse of `to_dict`; a dict of a legacy plan (no roles) should go through `migrate_plan_dict`."""
        return cls(
            str(d["backend"]),
            str(d["label"]),
            dict(d.get("options") or {}),
            tuple(str(r) for r in d.get("roles") or ()),
            d.get("twin_of"),
        )


@dataclass(frozen=True)
class WorkloadSpec:
    """The inputs: identical for every backend, in the same order.

    Attributes:
        batch: batch size.
        seq: sequence length (the maximum when `seq_dist` is set).
        seq_dist: None for fixed `seq`; ``uniform:LO-HI``, ``normal:MEAN,STD`` or ``file:PATH`` (text lines
            tokenized with the model's tokenizer).
        seed: RNG seed for token ids and lengths.
        cycle: number of distinct inputs generated and cycled through (a corpus gives its own count).
        corpus: None, ``builtin`` (the built-in text corpus) or a corpus file (txt/JSONL/CSV/Parquet): real
            texts tokenized with the model's tokenizer, `batch` consecutive texts per input, cut at `seq`.
        corpus_column: the text column/field of a corpus file (default ``text``).
        corpus_tokens: mean real tokens per corpus text, cut at `seq` (set by plan building when the model's
            tokenizer is a ``tokenizer.json``): tokens per call = batch × this, padding excluded.
        padding: ``longest`` (each batch of texts padded to its longest) or ``fixed`` (every input padded to
            `seq`); padding is masked and never counted as tokens.
        whole_corpus: 0, or the number of full passes over the corpus each variant measures at least
            (``--whole-corpus N``): the run's minimum calls per variant become N × its inputs per pass.
        corpus_texts: the number of texts in the corpus (set by plan building): a pass is ceil(texts / batch)
            calls.
        task: ``prefill`` (one forward pass over the input: the classic call) or ``generate`` (greedy decoding
            of `new_tokens` tokens after a prompt of `prompt_len` tokens; engines declaring ``generates``).
        prompt_len: prompt tokens per sequence for ``generate`` (input_ids ``[batch, prompt_len]``).
        new_tokens: tokens generated per sequence for ``generate`` (at least 2: inter-token latency needs two).
    """

    batch: int = 1
    seq: int = 128
    seq_dist: str | None = None
    seed: int = 0
    cycle: int = 64
    corpus: str | None = None
    corpus_column: str | None = None
    corpus_tokens: float | None = None
    padding: str = "longest"
    whole_corpus: int = 0
    corpus_texts: int | None = None
    task: str = "prefill"
    prompt_len: int = 32
    new_tokens: int = 32

    def to_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class SweepSpec:
    """A parameter sweep, stored in the plan so a report of the session redraws its table and advice.

    Attributes:
        objective: ``latency`` (lowest median per call) or ``throughput`` (highest samples/s).
        threshold: noise band: a gain over the default must exceed this fraction.
        axes: per swept engine (canonical name, in order): option → the values swept (typed, as validated).
        fixed: per swept engine: the options fixed for every grid point (``-b NAME:k=v``).
        defaults: per swept engine: the label of its default configuration.
        points: per configuration, in plan order: ``{"label", "backend", "options", "default"}``.
    """

    objective: str = "latency"
    threshold: float = 0.05
    axes: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    fixed: dict[str, dict[str, Any]] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    points: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return {
            "objective": self.objective,
            "threshold": self.threshold,
            "axes": {b: {k: list(v) for k, v in a.items()} for b, a in self.axes.items()},
            "fixed": {b: dict(f) for b, f in self.fixed.items()},
            "defaults": dict(self.defaults),
            "points": [dict(p) for p in self.points],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SweepSpec:
        """Inverse of `to_dict`; unknown keys are ignored."""
        return cls(
            objective=str(d.get("objective", "latency")),
            threshold=float(d.get("threshold", 0.05)),
            axes={b: {k: list(v) for k, v in a.items()} for b, a in (d.get("axes") or {}).items()},
            fixed={b: dict(f) for b, f in (d.get("fixed") or {}).items()},
            defaults=dict(d.get("defaults") or {}),
            points=tuple(dict(p) for p in d.get("points") or ()),
        )


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
        parity_tolerance: max abs difference of outputs vs the reference backend before it is *degraded*
            (variants at full precision).
        min_agreement: label agreement (%, 0–100) with the reference below which a variant that changes the
            numerics on purpose (a precision other than f32, a quantization) is *degraded*
            (`analysis.accuracy`).
        sweep: the parameter sweep this run is (``infbench-tui sweep``), or None.
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
    min_agreement: float = DEFAULT_MIN_AGREEMENT
    sweep: SweepSpec | None = None

    def __post_init__(self) -> None:
        validate_plan(self)

    def workload_text(self) -> str:
        """The workload in a few words, for headers: ``seq 128 · batch 1,8``, ``generate · prompt 32 + 64 new ·
        batch 1``, with the corpus named when there is one."""
        wl = self.workload
        batches = sorted({int(b.options.get("batch", wl.batch)) for b in self.backends} or {wl.batch})
        batch = ",".join(str(b) for b in batches)
        if wl.task == "generate":
            text = f"generate · prompt {wl.prompt_len} + {wl.new_tokens} new · batch {batch}"
        else:
            text = f"seq {wl.seq} · batch {batch}"
        if wl.corpus:
            text += f" · corpus {wl.corpus.rsplit('/', 1)[-1]}"
        return text

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict."""
        d = dataclasses.asdict(self)
        d["backends"] = [b.to_dict() for b in self.backends]
        d["workload"] = self.workload.to_dict()
        d["sweep"] = self.sweep.to_dict() if self.sweep is not None else None
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunPlan:
        """Inverse of `to_dict`; unknown keys are ignored; roles of a legacy plan are derived."""
        d = migrate_plan_dict(d)
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        known["backends"] = tuple(BackendSpec.from_dict(b) for b in d.get("backends", []))
        wl = d.get("workload", {})
        known["workload"] = WorkloadSpec(
            **{k: v for k, v in wl.items() if k in WorkloadSpec.__dataclass_fields__}
        )
        sweep = d.get("sweep")
        known["sweep"] = SweepSpec.from_dict(sweep) if isinstance(sweep, dict) else None
        return cls(**known)

    @property
    def labels(self) -> list[str]:
        """Backend labels in plan order."""
        return [b.label for b in self.backends]


def validate_plan(plan: RunPlan) -> None:
    """Raise ConfigError naming the first bad field of `plan`."""
    if not plan.backends:
        from infbench.engines.registry import engine_names

        raise ConfigError(f"no backend to run: pass --backend NAME ({', '.join(engine_names())})")
    labels = [b.label for b in plan.backends]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"backend labels must be unique, got {labels}")
    validate_workload(plan.workload.to_dict())
    if plan.workload.cycle < 1:
        raise ConfigError(f"input cycle must be positive, got {plan.workload.cycle}")
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
    if not plan.parity_tolerance >= 0:
        raise ConfigError(f"--parity-tol must be a number >= 0, got {plan.parity_tolerance}")
    if not 0 <= plan.min_agreement <= 100:
        raise ConfigError(f"--min-agreement must be a percentage from 0 to 100, got {plan.min_agreement:g}")


def parse_backend_arg(arg: str) -> tuple[str, dict[str, str]]:
    """Split ``NAME[:key=value,key=value]`` into (name, raw options); values stay text (the engine's
    `OptionSchema` types them). Keys are matched as `engines.options.option_key` does (``Inter-Threads``).

    Raises:
        ConfigError: an empty name, an item that is not key=value, or a key given twice.
    """
    from infbench.engines.options import option_key

    shown = _show(arg)
    name, _, rest = str(arg).partition(":")
    name = name.strip()
    if not name:
        raise ConfigError(f"--backend {shown}: empty backend name (give NAME[:key=value,…])")
    options: dict[str, str] = {}
    if rest:
        for item in rest.split(","):
            key, eq, value = item.partition("=")
            if not eq or not key.strip():
                raise ConfigError(f"--backend {shown}: options are key=value separated by commas")
            k = option_key(key)
            if k in options:
                raise ConfigError(f"--backend {shown}: option {_show(k)} is given twice")
            options[k] = value.strip()
    return name, options


def _show(text: Any) -> str:
    """`text` on one line, cut to 60 characters (user input quoted back in an error message)."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= 60 else flat[:57] + "…"


AA_SUFFIX = "#aa"  # how sessions written before roles named the A/A twin (read only; see `migrate_plan_dict`)


def migrate_plan_dict(plan: dict[str, Any]) -> dict[str, Any]:
    """A plan dict with `roles` and `twin_of` on every backend: stored ones are kept; a legacy plan (written
    before roles) gets its engine's declared roles and, for a ``LABEL#aa`` twin of a label in the plan,
    ``aa-twin`` and `twin_of`. Returns a new dict; an unknown engine (a plugin not registered now) gets none.
    """
    backends = plan.get("backends")
    if not isinstance(backends, list):
        return dict(plan)
    labels = {b.get("label") for b in backends if isinstance(b, dict)}
    out = []
    for b in backends:
        if not isinstance(b, dict) or "roles" in b:
            out.append(b)
            continue
        out.append({**b, **legacy_roles(str(b.get("backend", "")), str(b.get("label", "")), labels)})
    return {**plan, "backends": out}


def engine_roles(backend: str) -> tuple[str, ...]:
    """The roles engine `backend` declares; none for an engine not registered here (a plugin of another
    environment, in a stored session)."""
    from infbench.engines.registry import engine_info
    from infbench.errors import BackendUnavailable

    try:
        return tuple(engine_info(backend).roles)
    except BackendUnavailable:
        return ()


def legacy_roles(backend: str, label: str, labels: set[Any]) -> dict[str, Any]:
    """``{"roles": [...], "twin_of": ...}`` of a variant recorded before roles were stored."""
    roles = list(engine_roles(backend))
    twin_of = None
    if label.endswith(AA_SUFFIX) and label[: -len(AA_SUFFIX)] in labels:
        twin_of = label[: -len(AA_SUFFIX)]
        roles.append(Role.AA_TWIN.value)
    return {"roles": roles, "twin_of": twin_of}


def plan_roles(plan: dict[str, Any]) -> dict[str, tuple[list[str], str | None]]:
    """Label → (roles, twin_of) of every variant of a plan dict, legacy plans derived (`migrate_plan_dict`)."""
    out: dict[str, tuple[list[str], str | None]] = {}
    for b in migrate_plan_dict(plan).get("backends") or []:
        if isinstance(b, dict) and b.get("label") is not None:
            twin = b.get("twin_of")
            out[str(b["label"])] = (
                [str(r) for r in b.get("roles") or []],
                None if twin is None else str(twin),
            )
    return out


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
        shown = [f"{k}={_label_value(options[k])}" for k in differing[name] if k in options]
        out.append(f"{name}[{','.join(shown)}]" if shown else name)
    return unique_labels(out)


def _label_value(value: Any) -> str:
    """An option value as the command line spells it: ``true``/``false``, lists joined with ``+``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "+".join(_label_value(v) for v in value)
    return str(value)
