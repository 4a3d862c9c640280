"""From parsed arguments to a validated RunPlan: backends resolved and checked, flags applied, labels given."""

from __future__ import annotations

import argparse
import logging
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from infbench.errors import BackendUnavailable, ConfigError
from infbench.plan.generate import check_engines_for_workload, refuse_remote_code
from infbench.plan.spec import (
    AA_SUFFIX,
    DEFAULT_MIN_AGREEMENT,
    BackendSpec,
    RunPlan,
    WorkloadSpec,
    parse_backend_arg,
    variant_labels,
)
from infbench.plan.workload import validate_workload, workload_values
from infbench.vocab import Role

log = logging.getLogger(__name__)


def parse_warmup(text: str) -> tuple[int, float]:
    """``"10"`` → (10 calls, 0 s); ``"2s"`` → (0 calls, 2.0 s)."""
    t = str(text).strip().lower()
    try:
        if t.endswith("s"):
            return 0, float(t[:-1])
        return int(t), 0.0
    except ValueError:
        raise ConfigError(f"--warmup {text!r}: give a call count (10) or seconds (2s)") from None


def default_backends(model: str, notes: list[str] | None = None, task: str = "prefill") -> list[str]:
    """Every installed engine that is not a control, is a default for `task` (`EngineInfo.default_for`) and can
    take `model`; a line per left-out engine goes to `notes`.

    Raises:
        ConfigError: no installed backend can take the model (the reasons are in the message).
        ModelError: `model` is not a usable model argument.
    """
    from infbench.engines.models import backends_for_model
    from infbench.engines.registry import engine_info, engine_names, missing_packages

    candidates = []
    for name in engine_names():
        try:
            info = engine_info(name)
            if not info.is_control and task in info.default_for:
                candidates.append(name)
        except BackendUnavailable:
            continue  # a broken plugin: the registry logged why
    installed = [n for n in candidates if not missing_packages(n)]
    takes, left_out = backends_for_model(model, installed)
    lines = [f"{name} left out: {reason}" for name, reason in left_out.items()]
    for name in candidates:
        if name not in installed:
            lines.append(
                f"{name} left out: not installed (cannot import {', '.join(missing_packages(name))})"
            )
    if not takes:
        if not installed:
            raise ConfigError(
                "no backend installed: pip install onnxruntime (or openvino, or torch + transformers)"
            )
        raise ConfigError("no installed backend can take this model: " + "; ".join(lines))
    if notes is not None:
        notes.extend(lines)
    return takes


_FLAGS = (  # global flag → (argparse attribute, the EngineInfo field naming the option it sets)
    ("--threads", "threads", "thread_option"),
    ("--inter-threads", "inter_threads", "inter_thread_option"),
    ("--device", "device", "device_option"),
)


def variant_option_values(
    backend: str, arg: str, raw: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    """The typed options of one ``-b`` variant of engine `backend`: the global flags mapped through the
    engine's `thread_option` / `inter_thread_option` / `device_option` (an engine without one skips the
    flag), then its own ``key=value`` options, which win.

    Raises:
        ConfigError: one line naming the flag or ``--backend`` item and the valid choices.
    """
    from infbench.engines.registry import engine_info

    info = engine_info(backend)
    merged: dict[str, Any] = {}
    for flag, attr, field in _FLAGS:
        value = getattr(args, attr, None)
        name = getattr(info, field)
        if value is None or name is None:
            continue
        option = info.options.get(name)
        assert option is not None  # EngineInfo checks its flag options exist
        merged[name] = option.parse(value, where=f"{flag} {_show(str(value))} ({info.name})")
    where = f"--backend {_show(arg)}"
    for key in raw:
        if info.options.get(key) is None:
            raise ConfigError(f"{where}: {info.options.unknown_text(info.name, key)}{_owners(key)}")
    merged.update(info.options.validate(info.name, raw, where=where))
    return merged


def _owners(key: str) -> str:
    """``; keep: only the null control has it`` when other engines have option `key`, else nothing."""
    from infbench.engines.options import option_key
    from infbench.engines.registry import engine_info, engine_names

    owners = []
    for name in engine_names():
        try:
            info = engine_info(name)
        except BackendUnavailable:
            continue
        if info.options.get(key) is not None:
            owners.append(f"the {info.name} control" if info.is_control else info.name)
    if not owners:
        return ""
    k = _show(option_key(key))
    return f"; {k}: only {owners[0]} has it" if len(owners) == 1 else f"; {k}: {', '.join(owners)} have it"


def _show(text: str) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= 60 else flat[:57] + "…"


def _check_model_format(model: str, backend: str) -> None:
    """ConfigError when engine `backend` cannot take the kind of model argument `model` is (e.g. torch and an
    .onnx file). Reads only the path's kind; a bad model argument is left to model resolution."""
    from infbench.engines.models import model_kind
    from infbench.engines.registry import engine_info

    info = engine_info(backend)
    kind = model_kind(model)
    if kind is not None and kind not in info.formats:
        takes = " or ".join(_FORMAT_TEXT[k] for k in info.formats)
        raise ConfigError(f"--backend {info.name} cannot run {_show(model)}: it takes {takes}")


_FORMAT_TEXT = {
    "builtin": "a built-in model",
    "onnx": "an .onnx file",
    "hf": "a local Hugging Face directory",
}


def backend_specs(
    args: argparse.Namespace,
    backends: list[str] | None = None,
    notes: list[str] | None = None,
    batches: list[int] | None = None,
    workload: dict[str, Any] | None = None,
) -> tuple[BackendSpec, ...]:
    """BackendSpecs from --backend (or every installed engine that can take the model, see `default_backends`),
    each validated against its engine's option schema with the global flags applied, labelled so variants
    tell apart, with the engine's roles; ``--aa`` adds an A/A twin of the first variant that is not a control.
    With several `batches` each variant that is not a control runs once per batch size (option ``batch``,
    labelled ``NAME[batch=8]``), in the order given. The default set keeps only the engines that can run
    `workload` (see `fitting_defaults`).

    Nothing is started or imported beyond the engines' declarations. Lines about engines left out of the
    default set are appended to `notes`.

    Raises:
        ConfigError / BackendUnavailable: one line (exit 2) naming what is wrong and the valid choices.
    """
    from infbench.engines.registry import engine_info, require_backend

    raw = backends if backends is not None else (args.backend or [])
    parsed: list[tuple[str, str, dict[str, Any]]] = []
    for arg in raw:
        name, options = parse_backend_arg(arg)
        parsed.append((require_backend(name), arg, options))
    if not parsed:
        parsed = [
            (n, n, {})
            for n in fitting_defaults(
                default_backends(args.model, notes, str((workload or {}).get("task") or "prefill")),
                workload,
                notes,
            )
        ]
    else:
        for name in dict.fromkeys(n for n, _a, _o in parsed):
            _check_model_format(args.model, name)
    typed = [(name, variant_option_values(name, arg, opts, args)) for name, arg, opts in parsed]
    if batches is not None and len(batches) > 1:
        typed = [
            (name, options if engine_info(name).is_control else {**options, "batch": b})
            for name, options in typed
            for b in (batches[:1] if engine_info(name).is_control else batches)
        ]
    labels = variant_labels(typed)
    specs = [
        BackendSpec(name, label, options, roles=tuple(engine_info(name).roles))
        for (name, options), label in zip(typed, labels)
    ]
    if getattr(args, "aa", False):
        first = next((s for s in specs if not s.is_control), None)
        if first is None:
            raise ConfigError("--aa needs a variant to run twice that is not a control (not only null)")
        specs.append(
            BackendSpec(
                first.backend,
                first.label + AA_SUFFIX,
                dict(first.options),
                roles=(*first.roles, Role.AA_TWIN.value),
                twin_of=first.label,
            )
        )
    return tuple(specs)


def fitting_defaults(names: list[str], workload: dict[str, Any] | None, notes: list[str] | None) -> list[str]:
    """The default engines that can run `workload`: those whose `EngineInfo.default_for` names its task (with
    ``--task generate`` those that generate), without a corpus none that takes raw texts; a line per engine left
    out for a reason the user can change goes to `notes`.

    Raises:
        ConfigError: none is left.
    """
    from infbench.engines.registry import engine_info

    wl = workload or {}
    task = str(wl.get("task") or "prefill")
    keep, lines = [], []
    for name in names:
        info = engine_info(name)
        if task == "generate" and not info.generates:
            lines.append(f"{name} left out: it cannot generate (--task generate)")
        elif info.takes_text and wl.get("corpus") is None:
            lines.append(f"{name} left out: it takes texts, and there is no --corpus")
        else:
            keep.append(name)
    if not keep:
        raise ConfigError("no installed backend can run this workload: " + "; ".join(lines))
    if notes is not None:
        notes.extend(lines)
    return keep


def check_seq_dist_file(seq_dist: str | None, model: str, specs: tuple[BackendSpec, ...]) -> None:
    """For ``--seq-dist file:PATH``: the file must exist (checked first), and the model must have a tokenizer.

    Raises:
        ConfigError: the file is missing or not a file, or the model has no tokenizer (built-in, .onnx, or an
            HF directory without tokenizer files).
    """
    from infbench.engines.registry import engine_info

    if not seq_dist or not seq_dist.startswith("file:"):
        return
    text = seq_dist[len("file:") :]
    path = os.path.abspath(os.path.expanduser(text))
    if not os.path.exists(path):
        raise ConfigError(f"--seq-dist file:{text}: the file {path} does not exist")
    if not os.path.isfile(path):
        raise ConfigError(
            f"--seq-dist file:{text}: {path} is not a file (give a text file, one text per line)"
        )
    if all(engine_info(s.backend).needs == "none" for s in specs):
        return  # no backend takes the model: nothing is tokenized
    from infbench.engines import _modelcache as mc
    from infbench.engines.models import resolve_model

    src = resolve_model(model)
    alternatives = "use --seq-dist uniform:LO-HI or normal:MEAN,STD"
    if src.kind == "builtin":
        raise ConfigError(
            f"--seq-dist file:{text} needs a tokenizer to turn its texts into token ids, and "
            f"built-in model {src.name} has none (random weights, no vocabulary): {alternatives}, or pass a "
            "local Hugging Face model directory with tokenizer files"
        )
    if src.kind == "onnx":
        raise ConfigError(
            f"--seq-dist file:{text} needs a tokenizer to turn its texts into token ids, and "
            f"an .onnx file ({src.name}) has none: {alternatives}, or pass the model's Hugging Face "
            "directory with its tokenizer files"
        )
    if src.path and not any(os.path.isfile(os.path.join(src.path, f)) for f in mc.TOKENIZER_FILES):
        raise ConfigError(
            f"--seq-dist file:{text} needs a tokenizer, and {src.path} has no tokenizer files "
            f"({', '.join(mc.TOKENIZER_FILES)}): save the tokenizer there or {alternatives}"
        )


def check_corpus(
    corpus: str | None, column: str | None, model: str, specs: tuple[BackendSpec, ...], seq: int = 0
) -> tuple[float | None, int | None]:
    """For ``--corpus``: the corpus must be readable (file, format, column), and the model must have a
    tokenizer (a built-in model's is trained offline on the built-in corpus, here, once).

    Returns:
        (the mean real tokens per text, each cut at `seq`, when the tokenizer is a ``tokenizer.json`` (the
        built-in ones, fast HF tokenizers), else None; the number of texts), both None without a corpus.

    Raises:
        ConfigError: one line: a missing/unreadable file, a bad column, a model without a tokenizer.
    """
    from infbench.engines.corpus import BUILTIN, builtin_tokenizer_for, load_corpus, resolve_corpus
    from infbench.engines.registry import engine_info

    if corpus is None:
        return None, None
    if corpus == BUILTIN and column is not None:
        raise ConfigError("--corpus-column applies to a corpus file, not to --corpus builtin")
    texts = resolve_corpus(corpus) if corpus == BUILTIN else load_corpus(corpus, column)
    if all(engine_info(s.backend).needs == "none" for s in specs):
        return None, len(texts)  # no backend takes the model: nothing is tokenized
    from infbench.engines import _modelcache as mc
    from infbench.engines.models import resolve_model

    src = resolve_model(model)
    alternatives = "use a built-in model (its tokenizer is trained offline) or --seq-dist uniform:LO-HI"
    tokenizer_json = None
    if src.kind == "builtin":
        tokenizer_json = builtin_tokenizer_for(src.name) / "tokenizer.json"
    elif src.kind == "onnx":
        raise ConfigError(
            f"--corpus {corpus} needs a tokenizer to turn its texts into token ids, and an .onnx file "
            f"({src.name}) has none: pass the model's Hugging Face directory with its tokenizer files, or "
            f"{alternatives}"
        )
    elif src.path and not any(os.path.isfile(os.path.join(src.path, f)) for f in mc.TOKENIZER_FILES):
        raise ConfigError(
            f"--corpus {corpus} needs a tokenizer, and {src.path} has no tokenizer files "
            f"({', '.join(mc.TOKENIZER_FILES)}): save the tokenizer there or {alternatives}"
        )
    elif src.path and os.path.isfile(os.path.join(src.path, "tokenizer.json")):
        tokenizer_json = Path(src.path) / "tokenizer.json"
    mean = _mean_tokens(tokenizer_json, texts, seq) if tokenizer_json is not None else None
    return mean, len(texts)


def _mean_tokens(tokenizer_json: Path, texts: list[str], seq: int) -> float | None:
    """Mean real tokens per text (special tokens included), each cut at `seq`; None if it cannot load."""
    from infbench.engines.corpus import load_tokenizer

    try:
        tok = load_tokenizer(tokenizer_json)
    except ConfigError as exc:  # the child uses the HF tokenizer loader, which may still read it
        log.warning("cannot count the corpus's tokens: %s", exc)
        return None
    # one text at a time: encode_batch would start the tokenizers thread pool in the parent (see corpus_stats)
    return sum(min(len(tok.encode(t).ids), seq) for t in texts) / len(texts)


def _min_agreement(args: argparse.Namespace) -> float:
    """--min-agreement (the plan's default when the namespace has none: a form or caller that predates it).

    Raises:
        ConfigError: not a number (the range is checked with the whole plan, `spec.validate_plan`).
    """
    value = getattr(args, "min_agreement", None)
    if value is None:
        return DEFAULT_MIN_AGREEMENT
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"--min-agreement must be a percentage from 0 to 100, got {_show(str(value))}"
        ) from None


def plan_from_args(
    args: argparse.Namespace, backends: list[str] | None = None, notes: list[str] | None = None
) -> RunPlan:
    """A validated RunPlan from parsed arguments (ConfigError on bad values).

    `backends` overrides --backend; lines about backends left out of the default set go to `notes`. The
    workload's options are parsed by their declarations (`plan.workload`); a ``--batch`` list makes one
    variant per backend and batch size.
    """
    if args.threads is not None and args.threads < 1:
        raise ConfigError(f"--threads must be a positive integer, got {args.threads}")
    if args.inter_threads is not None and args.inter_threads < 1:
        raise ConfigError(f"--inter-threads must be a positive integer, got {args.inter_threads}")
    if getattr(args, "device", None) is not None and not str(args.device).strip():
        raise ConfigError("--device: give a device, e.g. cpu or cuda")
    warm_n, warm_s = parse_warmup(args.warmup)
    values = workload_values(args)
    validate_workload(values)
    model = args.model
    if os.path.sep in model or model.endswith(".onnx") or os.path.exists(model):
        model = os.path.abspath(os.path.expanduser(model))
    args = argparse.Namespace(**{**vars(args), "model": model})
    batches: list[int] = values.pop("batch")
    specs = backend_specs(args, backends, notes, batches=batches, workload=values)
    corpus = values["corpus"]
    if corpus is not None and corpus != "builtin":
        values["corpus"] = corpus = os.path.abspath(os.path.expanduser(corpus))
    refuse_remote_code(model)
    check_engines_for_workload(model, specs, values)
    plan = RunPlan(
        model=model,
        backends=specs,
        workload=WorkloadSpec(batch=batches[0], seed=args.seed, **values),
        duration_s=args.duration,
        iterations=args.iterations,
        warmup_iterations=warm_n,
        warmup_s=warm_s,
        schedule=args.schedule,
        block_s=args.block,
        seed=args.seed,
        timeout_s=args.timeout,
        parity_tolerance=args.parity_tol,
        min_agreement=_min_agreement(args),
    )
    check_seq_dist_file(values["seq_dist"], model, specs)
    tokens, texts = check_corpus(corpus, values["corpus_column"], model, specs, values["seq"])
    if corpus is not None:
        if values["task"] == "generate":
            tokens = None  # prompts are windows of prompt_len tokens of the corpus, not its texts
        plan = replace(plan, workload=replace(plan.workload, corpus_tokens=tokens, corpus_texts=texts))
    return plan
