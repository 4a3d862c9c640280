"""A real ``--task generate`` run of the built-in gpt2-tiny on torch, headless, through the real child, store,
recorder and report: ITL samples per token (batch × (new tokens − 1) per request), the Generation section, the
findings run on ITL, per-token export rows, and `compare` of the session with itself."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from infbench.cli import main

BATCH, PROMPT, NEW = 2, 8, 4


@pytest.mark.slow
def test_headless_generate_run_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    save, out = tmp_path / "g.infb", tmp_path / "g.json"
    args = ["run", "gpt2-tiny", "--task", "generate", "-b", "torch", "--batch", str(BATCH)]
    args += ["--prompt-len", str(PROMPT), "--new-tokens", str(NEW), "--headless", "--duration", "0.5"]
    args += ["--iterations", "6", "--warmup", "2", "--json", str(out), "--save", str(save)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "Generation — prompt 8 tokens, 4 new tokens, batch 2" in printed
    data = json.loads(out.read_text())
    torch = data["backends"]["torch"]
    gen = torch["generation"]
    assert gen["requests"] == torch["iterations"] >= 6 and gen["steps_median"] == NEW
    assert gen["itl_ms"]["count"] == BATCH * (NEW - 1) * gen["requests"]  # per token, not per step
    assert gen["ttft_ms"]["count"] == gen["requests"]
    assert gen["decode_tokens_per_s"] > 0 and gen["prefill_tokens_per_s"] > 0 and gen["tpot_ms"] > 0
    assert data["analysis"]["backends"]["torch"]["series"] == "itl"
    assert main(["export", str(save), "--what", "tokens", "--phase", "measure"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == NEW * gen["requests"] and {r["token"] for r in rows} == {"0", "1", "2", "3"}
    assert main(["compare", str(save), str(save), "--format", "json", "--bootstrap", "100"]) == 0
    row = json.loads(capsys.readouterr().out)["backends"]["torch"]
    assert (
        row["generation"]["ttft"]["verdict"]
        == row["generation"]["itl"]["verdict"]
        == "no significant difference"
    )
