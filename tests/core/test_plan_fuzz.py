"""Property test: generated ``-b`` specs, global flags and sweep grids thrown at the plan builders give either a
valid plan or a one-line error (exit 2) — never another exception, never a child process."""

from __future__ import annotations

import argparse
import subprocess
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from infbench import cli
from infbench.engines import host
from infbench.engines.registry import engine_info, engine_names
from infbench.errors import BackendUnavailable, ConfigError
from infbench.plan.build import plan_from_args
from infbench.plan.spec import RunPlan

SPEC_EXAMPLES = 8_000
GRID_EXAMPLES = 2_500  # with SPEC_EXAMPLES: over 10 000 generated cases

NAMES = [n for name in engine_names() for n in (engine_info(name).name, *engine_info(name).aliases)]
KEYS = sorted(
    {o.name for name in engine_names() for o in engine_info(name).options} | {"thread", "", "Threads"}
)
VALUES = sorted(
    {c for name in engine_names() for o in engine_info(name).options for c in o.choices}
    | {"0", "1", "2", "-1", "1.5", "all", "", "cuda:0", "GPU.1", "cpu+cuda", "1e3", "９", "ｔｒｕｅ", "nan"}
)
SEPARATORS = [":", ",", "=", "+", " ", "::", ",,", "=="]
text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
name = st.one_of(st.sampled_from(NAMES), st.sampled_from(NAMES).map(lambda n: n[:-1] or "x"), text)
key = st.one_of(st.sampled_from(KEYS), text)
value = st.one_of(st.sampled_from(VALUES), text, st.integers(-5, 10**6).map(str))
item = st.one_of(
    st.tuples(key, value).map(lambda kv: f"{kv[0]}={kv[1]}"),
    key,
    st.just(""),
)
option_part = st.lists(item, max_size=4).map(",".join)


def _good_value(option: Any) -> st.SearchStrategy[str]:
    if option.kind in ("int", "float"):
        return st.integers(int(option.minimum or 0), 64).map(str)
    if option.kind == "bool":
        return st.sampled_from(["true", "false"])
    if option.kind in ("choice", "list"):
        return st.sampled_from([*option.choices, *option.aliases])
    return st.text("abcxyz/._-", min_size=1, max_size=8)


@st.composite
def good_spec(draw: st.DrawFn) -> str:
    """A spec an engine accepts (a name or alias, some of its own options with values it takes)."""
    engine = draw(st.sampled_from(engine_names()))
    info = engine_info(engine)
    chosen = (
        draw(st.lists(st.sampled_from(info.options.names), unique=True, max_size=3))
        if len(info.options)
        else []
    )
    parts = [f"{k}={draw(_good_value(info.options.get(k)))}" for k in chosen]
    label = draw(st.sampled_from([info.name, *info.aliases]))
    return f"{label}:{','.join(parts)}" if parts else label


spec = st.one_of(
    good_spec(),
    good_spec(),
    st.tuples(name, option_part).map(lambda p: f"{p[0]}:{p[1]}" if p[1] else p[0]),
    st.tuples(name, st.sampled_from(SEPARATORS), text).map("".join),
    text,
)


class Spawned(AssertionError):
    """A child process was started."""


@pytest.fixture(autouse=True)
def no_children(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test the moment anything tries to start a process."""

    def refuse(*_a: Any, **_k: Any) -> None:
        raise Spawned("a process was started while building a plan")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr(host.subprocess, "Popen", refuse)


def _base(command: str) -> argparse.Namespace:
    parser, _ = cli.build_parser()
    return parser.parse_args([command, "bert-tiny"])


RUN_ARGS = _base("run")


def _one_line(exc: Exception) -> None:
    message = str(exc)
    assert message and len(message.splitlines()) == 1 and "\n" not in message, repr(message)
    assert "Traceback" not in message


@settings(
    max_examples=SPEC_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    specs=st.lists(spec, min_size=1, max_size=3),
    threads=st.one_of(st.none(), st.integers(-2, 64)),
    inter=st.one_of(st.none(), st.integers(-2, 8)),
    device=st.one_of(
        st.none(), st.sampled_from(["cpu", "cuda", "GPU", "CPU", "npu", "cuda:1", " ", "tpu"]), text
    ),
    aa=st.booleans(),
)
def test_generated_backend_specs_give_a_plan_or_one_line(
    specs: list[str], threads: int | None, inter: int | None, device: str | None, aa: bool
) -> None:
    args = argparse.Namespace(
        **{
            **vars(RUN_ARGS),
            "backend": specs,
            "threads": threads,
            "inter_threads": inter,
            "device": device,
            "aa": aa,
        }
    )
    try:
        plan = plan_from_args(args)
    except (ConfigError, BackendUnavailable) as exc:
        assert exc.exit_code == 2
        _one_line(exc)
        event(f"refused: {type(exc).__name__}")
        return
    event("valid plan")
    assert isinstance(plan, RunPlan) and len(plan.backends) == len(specs) + int(aa)
    for b in plan.backends:  # a valid plan holds typed options its engines' schemas accept as they are
        info = engine_info(b.backend)
        assert info.options.validate(info.name, b.options) == b.options
        assert tuple(info.roles) == tuple(r for r in b.roles if r != "aa-twin")
    assert RunPlan.from_dict(plan.to_dict()) == plan


sweep = pytest.importorskip("infbench.commands.sweep")
SWEEP_ARGS = _base("sweep")
GRID_FLAGS = list(sweep.AXES)
values_text = st.one_of(
    st.lists(st.sampled_from(["1", "2", "4", *VALUES[:40]]), min_size=1, max_size=3, unique=True).map(
        ",".join
    ),
    st.lists(value, min_size=0, max_size=4).map(",".join),
)


@settings(
    max_examples=GRID_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    specs=st.lists(spec, min_size=0, max_size=2),
    flags=st.dictionaries(st.sampled_from(GRID_FLAGS), values_text, min_size=1, max_size=3),
    grid=st.lists(st.tuples(key, values_text).map(lambda kv: f"{kv[0]}={kv[1]}"), max_size=2),
)
def test_generated_sweep_grids_give_a_grid_or_one_line(
    specs: list[str], flags: dict[str, str], grid: list[str]
) -> None:
    attrs = {flag.lstrip("-").replace("-", "_"): text_ for flag, text_ in flags.items()}
    args = argparse.Namespace(**{**vars(SWEEP_ARGS), "backend": specs, "grid": grid, **attrs})
    try:
        grids = sweep.build_grid(args)
    except (ConfigError, BackendUnavailable) as exc:
        assert exc.exit_code == 2
        _one_line(exc)
        event(f"refused: {type(exc).__name__}")
        return
    event("valid grid")
    for g in grids:  # every swept value is one its engine's option accepts as it is
        info = engine_info(g.backend)
        for opt, vals in g.axes.items():
            option = info.options.get(opt)
            if option is not None:
                assert [option.parse(v) for v in vals] == vals
