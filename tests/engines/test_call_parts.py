"""Call parts and token stamps travel from a real engine child to the live store and the session file, equal."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from infbench.engines.base import ModelFiles
from infbench.engines.host import EngineHost
from infbench.errors import EngineFailure
from infbench.records import Fanout, RunEvent, SampleBlock, TurnRecord
from infbench.sessions.reader import open_session
from infbench.sessions.recorder import Recorder
from infbench.sessions.store import LiveStore

PLUGIN = "parts=tests.engines.parts_engine:PartsEngine"
NO_MODEL = ModelFiles("none", "none", None, None, ())
N_INPUTS = 5


@pytest.fixture
def plugin_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The child's registry sees the test engine (children inherit the environment)."""
    plugins = ",".join(filter(None, [os.environ.get("INFBENCH_ENGINE_PLUGINS", ""), PLUGIN]))
    monkeypatch.setenv("INFBENCH_ENGINE_PLUGINS", plugins)


def _run(tmp_path: Path, options: dict) -> tuple[LiveStore, Path, list[SampleBlock]]:
    """Warm up 3 calls then measure 12 in a real child; every block goes to a LiveStore and a Recorder."""
    store, path = LiveStore(), tmp_path / "parts.infb"
    rec = Recorder(path)
    blocks: list[SampleBlock] = []
    fan = Fanout(store, rec)

    def on_block(b: SampleBlock) -> None:
        blocks.append(b)
        fan.on_samples(b)

    events: list[RunEvent] = []
    host = EngineHost(
        "parts", "parts", options, NO_MODEL, [{"x": np.zeros(2)}] * N_INPUTS, on_block, events.append
    )
    fan.on_start({"backends": [{"label": "parts", "backend": "parts", "options": options}]}, {}, 0, 0.0)
    try:
        host.start()
        for phase, calls in (("warmup", 3), ("measure", 12)):
            t = host.run_turn(phase, calls=calls)
            fan.on_turn(TurnRecord("parts", phase, t.t_begin_ns, t.t_end_ns, t.calls, t.busy_ns))
    finally:
        host.stop()
    fan.on_finish("complete")
    rec.close("complete")
    return store, path, blocks


@pytest.mark.slow
def test_parts_and_tokens_from_a_child_read_back_equal_live_and_replayed(
    plugin_env: None, tmp_path: Path
) -> None:
    store, path, blocks = _run(tmp_path, {"first_us": 200, "second_us": 600, "tokens": 3})
    assert all(set(b.parts) == {"first", "second"} and b.tokens is not None for b in blocks)
    start, dur = store.samples("parts", phase="measure")
    parts = store.parts("parts")
    assert start.size == 12 and list(parts) == ["first", "second"]
    assert all(p.dtype == np.int64 and p.size == 12 for p in parts.values())
    # the parts are inside the call: each stage took at least its busy-wait, together at most the call
    assert np.all(parts["first"] >= 200_000) and np.all(parts["second"] >= 600_000)
    assert np.all(parts["first"] + parts["second"] <= dur)
    t_start, counts, stamps = store.tokens("parts")
    np.testing.assert_array_equal(t_start, start)
    idx = np.concatenate([b.input_idx for b in blocks if b.phase == "measure"])
    np.testing.assert_array_equal(counts, 1 + idx % 3)  # the steps each call made
    assert stamps.size == counts.sum()
    owner = np.repeat(np.arange(12), counts)
    assert np.all(stamps >= start[owner]) and np.all(stamps <= (start + dur)[owner])
    assert store.parts("parts", "warmup")["first"].size == 3
    with open_session(path) as r:
        np.testing.assert_array_equal(r.samples("parts", phase="measure")[0], start)
        replayed = r.parts("parts")
        assert list(replayed) == list(parts)
        for name in parts:
            np.testing.assert_array_equal(replayed[name], parts[name])
        for live, back in zip(store.tokens("parts"), r.tokens("parts")):
            np.testing.assert_array_equal(back, live)
        both = r.parts("parts", None)
        assert both["first"].size == 15 == r.samples("parts")[0].size


@pytest.mark.slow
def test_an_engine_with_parts_only_has_no_tokens(plugin_env: None, tmp_path: Path) -> None:
    store, path, blocks = _run(tmp_path, {"first_us": 50, "second_us": 50, "tokens": 0})
    assert all(b.tokens is None and b.token_counts is None for b in blocks)
    assert [a.size for a in store.tokens("parts")] == [0, 0, 0]
    with open_session(path) as r:
        assert r.parts("parts")["second"].size == 12
        assert [a.size for a in r.tokens("parts")] == [0, 0, 0]
        assert r.part_columns() == (["first", "second"], False)


@pytest.mark.slow
def test_parts_of_the_wrong_length_fail_the_engine_in_one_line(plugin_env: None, tmp_path: Path) -> None:
    with pytest.raises(EngineFailure, match=r"take_parts\(\) must return 2 durations") as info:
        _run(tmp_path, {"first_us": 10, "second_us": 10, "tokens": 0, "broken": True})
    assert "\n" not in str(info.value)
