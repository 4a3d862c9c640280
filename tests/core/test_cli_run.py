"""`infbench-tui run --headless` through the real CLI: JSON contract, exit codes, and every bad-input case."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infbench import cli

LATENCY_KEYS = {
    "mean",
    "median",
    "p90",
    "p95",
    "p99",
    "p999",
    "min",
    "max",
    "std",
    "cv",
    "median_ci95",
    "p99_ci95",
}


def cli_run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "infbench", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ, COLUMNS="200"),
        check=False,
    )


def sessions() -> list[Path]:
    return sorted(Path(os.environ["INFBENCH_DATA_DIR"]).rglob("*.infb"))


def test_headless_json_contract_and_exit_zero(tmp_path):
    out, csv = tmp_path / "out.json", tmp_path / "out.csv"
    save = tmp_path / "run.infb"
    proc = cli_run(
        "run",
        "bert-tiny",
        "-b",
        "ort",
        "-b",
        "null",
        "--seq",
        "32",
        "-d",
        "0.5",
        "-n",
        "20",
        "--aa",
        "--headless",
        "--json",
        str(out),
        "--csv",
        str(csv),
        "--save",
        str(save),
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    data = json.loads(out.read_text())
    assert set(data["backends"]) == {"onnxruntime", "null", "onnxruntime#aa"}
    comparison = data["analysis"]["comparison"]
    assert comparison["threshold_source"] == "aa" and comparison["aa"]["b"] == "onnxruntime#aa"
    assert comparison["threshold"] == pytest.approx(max(comparison["aa"]["noise_band"], 0.002))
    assert set(comparison["rows"]) == {"onnxruntime"}  # the twin measures noise; null is a control
    assert "onnxruntime#aa" not in data["winners"].values()
    assert set(data["analysis"]["backends"]["onnxruntime"]) >= {
        "spikes",
        "shifts",
        "warnings",
        "warmup_end_s",
    }
    ort = data["backends"]["onnxruntime"]
    assert ort["status"] == "ok" and ort["error"] is None
    assert set(ort["latency_ms"]) >= LATENCY_KEYS
    lo, hi = ort["latency_ms"]["median_ci95"]
    assert lo <= ort["latency_ms"]["median"] <= hi
    assert ort["throughput_per_s"] > 0 and ort["iterations"] >= 20
    assert set(ort["cold_start"]) == {"load_ms", "first_inference_ms"}
    assert set(ort["memory_mb"]) == {"rss_after_load", "rss_peak"}
    assert ort["model_size_mb"] > 0
    assert data["plan"]["model"] == "bert-tiny" and data["system"]
    assert save.exists() and "onnxruntime" in csv.read_text()
    assert "median" in proc.stdout  # the results table


def test_degraded_backend_exits_one(tmp_path):
    out = tmp_path / "o.json"
    proc = cli_run(
        "run",
        "bert-tiny",
        "-b",
        "ort:device=cuda",
        "--seq",
        "16",
        "-d",
        "0.3",
        "-n",
        "5",
        "--headless",
        "--json",
        str(out),
        "--no-monitors",
    )
    assert proc.returncode == 1, proc.stderr
    b = json.loads(out.read_text())["backends"]["onnxruntime"]
    assert b["status"] == "degraded"


def test_failed_backend_exits_one_and_others_are_measured(tmp_path):
    out = tmp_path / "o.json"
    proc = cli_run(
        "run",
        "bert-tiny",
        "-b",
        "abort:after=30",
        "-b",
        "null",
        "-d",
        "0.3",
        "-n",
        "5",
        "--headless",
        "--json",
        str(out),
        "--no-monitors",
    )
    assert proc.returncode == 1
    data = json.loads(out.read_text())["backends"]
    assert data["abort"]["status"] == "failed" and "SIGABRT" in data["abort"]["error"]
    assert data["null"]["status"] == "ok"


def _bad(args: list[str], capsys, word: str, code: int = 2) -> None:
    before = sessions()
    rc = cli.main(args)
    err = capsys.readouterr().err
    assert rc == code, err
    errors = [x for x in err.splitlines() if "error" in x.lower()]  # progress lines (model build) may precede
    assert len(errors) == 1 and errors[0].startswith("infbench-tui: error: "), err
    assert "Traceback" not in err and word.lower() in errors[0].lower(), err
    assert sessions() == before  # nothing recorded


def test_missing_and_corrupt_model_files(tmp_path, capsys):
    _bad(["run", str(tmp_path / "nope.onnx"), "-b", "ort", "--headless"], capsys, "nope.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07this is not a protobuf" * 10)
    _bad(["run", str(bad), "-b", "ort", "--headless"], capsys, "not a valid ONNX model")
    _bad(["run", "bert-nonexistent", "-b", "ort", "--headless"], capsys, "bert-nonexistent")


def test_unknown_and_uninstalled_backends(capsys, monkeypatch):
    _bad(["run", "bert-tiny", "-b", "tensorflow", "--headless"], capsys, "unknown backend")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "openvino" else real(n, *a))
    _bad(["run", "bert-tiny", "-b", "ov", "--headless"], capsys, "pip install openvino")


@pytest.mark.parametrize(
    "args, word",
    [
        (["-d", "0"], "--duration"),
        (["-d", "-3"], "--duration"),
        (["-n", "0"], "--iterations"),
        (["--batch", "0"], "--batch"),
        (["--seq", "100000"], "seq"),
        (["--warmup", "ten"], "--warmup"),
        (["--threads", "0"], "--threads"),
        (["--seq-dist", "zipf"], "--seq-dist"),
        (["--json", "/nonexistent-dir/x.json"], "does not exist"),
        (["--save", __file__], "already exists"),
        (["-b", "ort:threads"], "key=value"),
    ],
)
def test_bad_arguments_are_one_line_exit_two(args, word, capsys):
    _bad(["run", "bert-tiny", "-b", "ort", "--headless", *args], capsys, word)


def test_argparse_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["run", "--batch", "x"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "--batch" in err


# ---- issue 14: interruption, default backends, labels, expected duration, null thinning, --seq-dist file --


def _start(*args: str, ignore_sigint: bool = False) -> subprocess.Popen:
    """The real CLI as a child; `ignore_sigint` starts it with SIGINT ignored, as a script's `cmd &` job is
    (an ignored signal stays ignored across exec)."""
    ignore = "import signal; signal.signal(signal.SIGINT, signal.SIG_IGN); " if ignore_sigint else ""
    launcher = (
        f"import os, sys; {ignore}os.execv(sys.executable, [sys.executable, '-m', 'infbench', *sys.argv[1:]])"
    )
    return subprocess.Popen(
        [sys.executable, "-c", launcher, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, COLUMNS="200"),
    )


@pytest.mark.parametrize("ignore_sigint", [False, True], ids=["ctrl-c", "sigint-ignored-by-parent"])
def test_sigint_exits_130_marks_the_table_and_keeps_the_recording(tmp_path, ignore_sigint):
    import signal
    import threading

    from infbench.sessions.reader import open_session

    out, save = tmp_path / "o.json", tmp_path / "run.infb"
    proc = _start(
        "run",
        "bert-tiny",
        "-b",
        "null",
        "-d",
        "30",
        "-n",
        "5",
        "--headless",
        "--no-monitors",
        "--json",
        str(out),
        "--save",
        str(save),
        ignore_sigint=ignore_sigint,
    )
    guard = threading.Timer(120, proc.kill)  # a hung run fails the test instead of hanging it
    guard.start()
    try:
        seen = []
        for line in proc.stderr:  # wait for measuring to be under way: the first progress line
            seen.append(line)
            if line.startswith("progress null:"):
                break
        assert any(x.startswith("progress null:") for x in seen), "".join(seen)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=110)
    finally:
        guard.cancel()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "SIGINT: stopping engines" in stderr
    assert "[interrupted]" in stdout and "INTERRUPTED: partial results" in stdout  # the table is marked
    report = json.loads(out.read_text())
    assert report["outcome"] == "interrupted"
    n = report["backends"]["null"]["iterations"]
    assert n > 0
    with open_session(save) as session:
        assert session.outcome() == "interrupted"
        _, dur = session.samples("null", phase="measure")
        assert dur.size == n  # everything the table counted is in the session
        assert int(session.turns("null")[2].sum()) > 0


def test_default_backends_are_those_that_can_take_an_onnx_file(tmp_path):
    import shutil

    from infbench.engines.models import prepare_model
    from infbench.engines.registry import missing_packages

    if missing_packages("torch"):
        pytest.skip("needs torch installed to show it being left out")
    model = tmp_path / "tiny.onnx"
    shutil.copy(str(prepare_model("bert-tiny", need_onnx=True, need_hf=False).onnx_path), model)
    out = tmp_path / "o.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "infbench",
            "run",
            str(model),
            "--seq",
            "16",
            "-d",
            "0.3",
            "-n",
            "5",
            "--headless",
            "--no-monitors",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=dict(os.environ, COLUMNS="200", INFBENCH_ENGINE_PLUGINS=""),
    )
    assert proc.returncode == 0, proc.stderr
    expected = {b for b in ("onnxruntime", "openvino") if not missing_packages(b)}  # no plugins in this env
    assert set(json.loads(out.read_text())["backends"]) == expected
    left = [x for x in proc.stderr.splitlines() if "left out" in x]
    assert left == [
        (
            "infbench-tui: torch left out: it needs a Hugging Face model directory, and tiny.onnx is an "
            ".onnx file (pass the model's HF directory to include it)"
        )
    ]


def test_variants_of_one_backend_are_labelled_by_their_options(tmp_path):
    out = tmp_path / "o.json"
    proc = cli_run(
        "run",
        "bert-tiny",
        "-b",
        "ort",
        "-b",
        "ort:threads=1",
        "--seq",
        "16",
        "-d",
        "0.3",
        "-n",
        "5",
        "--headless",
        "--no-monitors",
        "--json",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    backends = data["backends"]
    assert set(backends) == {"onnxruntime", "onnxruntime[threads=1]"}
    assert backends["onnxruntime[threads=1]"]["options"] == {"threads": 1}
    assert "onnxruntime[threads=1]" in proc.stdout  # shown literally, not eaten as markup
    # the default-threads variant uses every core: said before loading, under the table and in the JSON
    err = proc.stderr.splitlines()
    warned = [i for i, x in enumerate(err) if x.startswith("⚠ every core in use: onnxruntime (threads unset")]
    assert warned and warned[0] < next(i for i, x in enumerate(err) if "recording to" in x)
    assert "threads=1" not in err[warned[0]]
    assert len(data["warnings"]) == 1 and data["warnings"][0].startswith("every core in use: onnxruntime (")
    assert "[threads=1]" not in data["warnings"][0]
    assert "every core in use" in proc.stdout


def test_expected_duration_up_front_then_estimated_and_the_binding_limit_in_progress(tmp_path):
    out = tmp_path / "o.json"
    proc = cli_run(
        "run",
        "bert-tiny",
        "-b",
        "null",
        "-b",
        "slow:after=20",
        "-d",
        "0.3",
        "-n",
        "30",
        "--headless",
        "--no-monitors",
        "--json",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    err = proc.stderr.splitlines()
    up_front = next(i for i, x in enumerate(err) if x.startswith("expected: each of 2 backend(s)"))
    assert up_front < next(i for i, x in enumerate(err) if "recording to" in x)
    assert "-d 0.3 s and -n 30 calls" in err[up_front] and "10 ms a call (-n binds)" in err[up_front]
    estimate = next(x for x in err if x.startswith("expected ≈"))
    assert "null 0.3 s (-d binds)" in estimate and "slow " in estimate and "(-n 30 binds at " in estimate
    slow = [x for x in err if x.startswith("progress slow:")]
    null = [x for x in err if x.startswith("progress null:")]
    assert slow and all("until -n " in x for x in slow)
    assert null and all("until -d " in x for x in null)
    # the progress median is the table's median (the statistic of every measured call)
    table = json.loads(out.read_text())["backends"]["slow"]["latency_ms"]["median"]
    shown = slow[-1].split("median ")[1].split(" ms")[0]
    assert float(shown) == pytest.approx(table, rel=2e-3)


def test_null_keeps_a_sample_unless_asked_for_every_call(tmp_path):
    from infbench.sessions.reader import open_session

    counts = {}
    for keep in ("", ":keep=all"):
        out, save = tmp_path / f"o{keep}.json", tmp_path / f"s{keep}.infb"
        proc = cli_run(
            "run",
            "bert-tiny",
            "-b",
            f"null{keep}",
            "-d",
            "0.5",
            "-n",
            "5",
            "--headless",
            "--no-monitors",
            "--json",
            str(out),
            "--save",
            str(save),
        )
        assert proc.returncode == 0, proc.stderr
        label = "null"  # a single null is labelled by its name whatever its options
        kept = json.loads(out.read_text())["backends"][label]["iterations"]
        with open_session(save) as session:
            made = int(session.turns(label)[2].sum())
            notes = [
                e.message for e in session.events() if e.kind == "status" and "uniform sample" in e.message
            ]
        counts[keep] = (kept, made, notes)
    kept, made, notes = counts[""]
    assert made > 20 * kept  # millions of no-op calls made, thousands kept
    assert kept <= 10_000 * 1.5 + 100  # about 10 000 per measured second (turns can overshoot -d a little)
    assert notes == [
        (
            f"null: recorded a uniform sample of {kept:,} of its {made:,} measured calls (the "
            "control's percentiles, to sampling noise; -b null:keep=all records every call)"
        )
    ]
    kept_all, made_all, notes_all = counts[":keep=all"]
    assert kept_all == made_all and not notes_all


@pytest.mark.parametrize(
    "backend, word",
    [("ort:keep=all", "only the null control"), ("null:keep=0", "keep=0"), ("null:keep=some", "keep=some")],
)
def test_bad_keep_option_is_one_line_exit_two(backend, word, capsys):
    _bad(["run", "bert-tiny", "-b", backend, "--headless"], capsys, word)


def test_seq_dist_file_names_a_missing_file_first_then_a_missing_tokenizer(tmp_path, capsys):
    missing = tmp_path / "texts.txt"
    _bad(
        ["run", "bert-tiny", "-b", "ort", "--headless", "--seq-dist", f"file:{missing}"],
        capsys,
        f"the file {missing} does not exist",
    )
    missing.write_text("hello world\n")
    _bad(
        ["run", "bert-tiny", "-b", "ort", "--headless", "--seq-dist", f"file:{missing}"],
        capsys,
        "needs a tokenizer to turn its texts into token ids, and built-in model bert-tiny has none",
    )
    hf = tmp_path / "hf-model"
    hf.mkdir()
    (hf / "config.json").write_text("{}")
    _bad(
        ["run", str(hf), "-b", "ort", "--headless", "--seq-dist", f"file:{missing}"],
        capsys,
        "has no tokenizer files",
    )
    _bad(
        ["run", str(hf), "-b", "ort", "--headless", "--seq-dist", f"file:{tmp_path}"], capsys, "is not a file"
    )
