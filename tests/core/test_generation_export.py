"""`export --what tokens`: one row per decoding step of a recorded generate session (call, token, stamp, gap),
the gaps equal to what the engine stamped; --backend/--phase select; a prefill session has no token rows."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np

from infbench.cli import main
from tests.analysis.gen_synth import gen_run


def test_tokens_export_has_one_row_per_step_with_its_gap(tmp_path: Path, capsys) -> None:
    path = tmp_path / "g.infb"
    run = gen_run(duration_s=3.0, throttle=False, short_every=4, path=path)
    assert main(["export", str(path), "--what", "tokens", "--backend", "slow", "--phase", "measure"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    steps = run.steps["slow"]
    assert len(rows) == sum(steps) and {r["backend"] for r in rows} == {"slow"}
    assert {r["phase"] for r in rows} == {"measure"}
    first = [r for r in rows if r["token"] == "0"]
    assert [int(r["gap_ns"]) for r in first] == run.ttfts["slow"]  # token 0: its time to first token
    later = np.array([int(r["gap_ns"]) for r in rows if r["token"] != "0"])
    assert later.tolist() == np.concatenate(run.gaps["slow"]).tolist()
    assert [int(r["call"]) for r in first] == list(range(len(steps)))
    assert main(["export", str(path), "--what", "tokens", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {d["phase"] for d in data} == {"warmup", "measure"}
    assert {d["backend"] for d in data} == {"fast", "slow"}


def test_a_prefill_session_has_no_token_rows(tmp_path: Path, capsys) -> None:
    from tests.core.session_maker import Backend, make_session

    path = make_session(tmp_path / "p.infb", {"ort": Backend()})
    assert main(["export", str(path), "--what", "tokens"]) == 0
    assert capsys.readouterr().out.strip() == "backend,phase,call,token,stamp_ns,t_s,gap_ns"
