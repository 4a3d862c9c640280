"""`--batch` lists and `--whole-corpus N` through the real CLI and a real engine: every variant measures at least
N full passes over the corpus at its own batch size, the progress counts passes, and the report's passes are
the sums of the recorded calls."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from infbench.sessions.reader import open_session
from tests.core.test_cli_run import cli_run


@pytest.mark.slow
def test_whole_corpus_passes_at_each_batch(tmp_path):
    corpus = tmp_path / "texts.txt"
    corpus.write_text("\n".join(f"sentence {i} about Paris and {i * 7} apples" for i in range(22)) + "\n")
    out, save = tmp_path / "out.json", tmp_path / "run.infb"
    proc = cli_run(
        *(
            "run",
            "bert-tiny",
            "-b",
            "ort:threads=1",
            "--corpus",
            str(corpus),
            "--batch",
            "4,8",
            "--seq",
            "32",
        ),
        *("--whole-corpus", "--padding", "fixed", "-d", "0.2", "-n", "2", "-w", "2", "--no-monitors"),
        *("--headless", "--json", str(out), "--save", str(save)),
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert data["plan"]["workload"]["whole_corpus"] == 3 and data["plan"]["workload"]["padding"] == "fixed"
    items = {"onnxruntime[batch=4]": 6, "onnxruntime[batch=8]": 3}  # ceil(22 / batch)
    assert list(data["backends"]) == list(items)
    session = open_session(save)
    try:
        for label, per_pass in items.items():
            row = data["backends"][label]
            wc = row["whole_corpus"]
            assert row["status"] == "ok" and row["options"]["batch"] == wc["batch"]
            assert row["iterations"] >= 3 * per_pass  # -n 2 alone would have stopped sooner
            assert wc["items_per_pass"] == per_pass and wc["passes"] == row["iterations"] // per_pass >= 3
            _start, dur = session.samples(label, phase="measure")
            sums = [dur[i * per_pass : (i + 1) * per_pass].sum() / 1e9 for i in range(wc["passes"])]
            assert np.allclose(wc["pass_s"], sums)
            assert wc["sentences_per_s"] == pytest.approx(wc["texts_per_pass"] / wc["median_s"])
            assert f"progress {label}:" in proc.stdout + proc.stderr
    finally:
        session.close()
    err = proc.stderr
    assert re.search(r"passes \d+/3", err), err  # the progress counts passes against --whole-corpus 3
    assert "Whole corpus" in proc.stdout and "onnxruntime[batch=8]" in proc.stdout
