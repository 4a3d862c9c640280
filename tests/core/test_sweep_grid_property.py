"""Property: whatever grid flags and values a user types, `build_grid` returns a valid grid or one clean line.

Thousands of generated sweeps (engine names with aliases and typos, fixed options, every grid flag and
``--grid`` with good, bad, empty, huge and unicode values) go through the real parser and the engines' real
option schemas. Each either raises ConfigError with a one-line message or gives grids whose every value the
engine's own option accepts unchanged, within the configuration limit; nothing is ever spawned.
"""

from __future__ import annotations

import argparse
import multiprocessing
import subprocess

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from infbench.commands.sweep import AXES, BATCH, MAX_CONFIGS, build_grid
from infbench.engines.registry import engine_info
from infbench.errors import ConfigError

ENGINES = ["onnxruntime", "ort", "ov", "openvino", "torch", "pt", "null", "noop", "orrt", "Ort", "", " ov "]
KEYS = [
    "threads",
    "inter_threads",
    "execution_mode",
    "graph_opt",
    "streams",
    "hint",
    "keep",
    "device",
    "batch",
]
KEYS += ["thread", "Threads", "inter-threads", "precision", "x", "", "é"]
WORDS = ["1", "2", "4", "0", "-1", "8", "all", "seq", "par", "sequential", "parallel", "basic", "disable"]
WORDS += [
    "latency",
    "throughput",
    "none",
    "CPU",
    "cpu",
    "GPU",
    "1.5",
    "",
    " ",
    "1e3",
    "١",
    "\n",
    "10000",
    "x",
]

GOOD = {  # plausible values per grid flag (most generated lists use these)
    "--threads": ["1", "2", "4", "8"],
    "--inter-threads": ["1", "2"],
    "--exec-mode": ["seq", "par", "sequential", "parallel", "PARALLEL"],
    "--graph-opt": ["disable", "basic", "extended", "all"],
    "--streams": ["1", "2", "3"],
    "--hint": ["latency", "throughput", "none"],
    "--batch": ["1", "2", "8"],
}
messy_list = st.lists(st.sampled_from(WORDS) | st.text(max_size=4), max_size=6).map(",".join)


def values_for(flag: str) -> st.SearchStrategy[str]:
    """A comma-separated value list for `flag`: plausible two times in three, anything otherwise."""
    good = st.lists(st.sampled_from(GOOD[flag]), min_size=1, max_size=3).map(",".join)
    return st.one_of(good, good, messy_list)


value_lists = st.one_of(*(values_for(f) for f in GOOD))
fixed = st.dictionaries(st.sampled_from(KEYS), st.sampled_from(WORDS) | st.text(max_size=3), max_size=2)
names = st.one_of(
    st.sampled_from(ENGINES[:8]), st.sampled_from(ENGINES[:8]), st.sampled_from(ENGINES), st.text(max_size=5)
)
backend_arg = st.builds(
    lambda name, opts, sep: name + (":" + sep.join(f"{k}={v}" for k, v in opts.items()) if opts else ""),
    names,
    st.one_of(st.just({}), st.just({}), fixed),
    st.sampled_from([",", ";", ""]),
)
grid_entry = st.builds(
    lambda k, eq, v: f"{k}{eq}{v}",
    st.sampled_from(KEYS) | st.text(max_size=4),
    st.sampled_from(["=", "=", ":", ""]),
    value_lists,
)


@st.composite
def sweep_args(draw: st.DrawFn, plausible: bool = False) -> argparse.Namespace:
    """A namespace as `sweep`'s parser leaves it: every grid flag None or text (most of them None).

    `plausible`: one to three distinct real engines (each under any of its names), a valid threshold, and
    messy values only in some grid flags, so that many cases are valid grids.
    """
    if plausible:
        engines = draw(
            st.lists(st.sampled_from(["ort", "ov", "null", "torch"]), min_size=1, max_size=3, unique=True)
        )
        spelled = {
            "ort": ["ort", "onnxruntime"],
            "ov": ["ov", "openvino"],
            "null": ["null"],
            "torch": ["torch", "pt"],
        }
        backend: list[str] | None = [draw(st.sampled_from(spelled[e])) for e in engines]
        threshold = 0.05
    else:
        some = st.lists(backend_arg, min_size=1, max_size=3)
        backend = draw(st.one_of(some, some, some, st.none(), st.lists(backend_arg, max_size=3)))
        threshold = draw(st.sampled_from([0.05] * 7 + [0.0, 0.5, 1.0, -0.1]))
    ns = argparse.Namespace(
        backend=backend,
        grid=draw(st.one_of(st.none(), st.none(), st.lists(grid_entry, max_size=2))),
        threshold=threshold,
    )
    flags = list(AXES)
    chosen = draw(st.lists(st.sampled_from(flags), min_size=1 if plausible else 0, max_size=3, unique=True))
    for flag in flags:
        setattr(ns, flag.lstrip("-").replace("-", "_"), draw(values_for(flag)) if flag in chosen else None)
    return ns


@pytest.fixture(autouse=True)
def no_spawn(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if building a grid ever starts a process."""

    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("a process was started while building a sweep grid")

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
    monkeypatch.setattr(multiprocessing.Process, "start", refuse)


def check(args: argparse.Namespace) -> str:
    """Build the grid; assert the outcome is a clean error or a valid grid; say which."""
    try:
        grids = build_grid(args)
    except ConfigError as exc:
        text = str(exc)
        assert text and "\n" not in text and "\r" not in text, repr(text)
        assert "Traceback" not in text
        return "error"
    assert grids and sum(len(g.points) + 1 for g in grids) <= MAX_CONFIGS
    assert any(g.axes for g in grids)
    for g in grids:
        info = engine_info(g.backend)
        for key, values in g.axes.items():
            assert values and len(values) == len(set(map(repr, values)))
            for value in values:
                if key == BATCH:
                    assert isinstance(value, int) and value >= 1
                else:
                    assert info.options.get(key).parse(value) == value  # typed, valid, canonical
        for point in g.points:
            assert set(point) == set(g.axes)
    return "grid"


@settings(max_examples=1200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sweep_args())
def test_generated_sweeps_are_valid_or_one_line_errors(args: argparse.Namespace) -> None:
    event(check(args))


@settings(max_examples=1200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sweep_args(plausible=True))
def test_plausible_sweeps_are_valid_or_one_line_errors(args: argparse.Namespace) -> None:
    event(check(args))


def test_the_generator_reaches_both_outcomes() -> None:
    """The property above is not vacuous: hand-picked cases of each outcome go through the same check."""
    base = {flag.lstrip("-").replace("-", "_"): None for flag in AXES}
    good = argparse.Namespace(
        **{**base, "backend": ["ort"], "grid": None, "threshold": 0.05, "threads": "1,2"}
    )
    bad = argparse.Namespace(**{**base, "backend": ["ort"], "grid": ["graph_opt=fast"], "threshold": 0.05})
    assert check(good) == "grid" and check(bad) == "error"
