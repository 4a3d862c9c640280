"""The workload's options, declared once (`plan.workload`): flags, parsing, the stored plan and the checks before
anything spawns (--batch lists, --padding, --whole-corpus, --task generate), through the real CLI parser."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from typing import Any

import pytest

from infbench import cli
from infbench.engines import host, registry
from infbench.errors import ConfigError
from infbench.plan.build import plan_from_args
from infbench.plan.spec import RunPlan, WorkloadSpec
from infbench.plan.workload import WORKLOAD_OPTIONS, workload_option


class Spawned(AssertionError):
    """A child process was started."""


@pytest.fixture(autouse=True)
def no_children(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every check here happens before anything starts."""

    def refuse(*_a: Any, **_k: Any) -> None:
        raise Spawned("a process was started while building a plan")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr(host.subprocess, "Popen", refuse)


def _args(*argv: str):
    parser, _ = cli.build_parser()
    return parser.parse_args(["run", *argv])


def _plan(*argv: str) -> RunPlan:
    return plan_from_args(_args(*argv))


def _bad(argv: list[str], capsys: pytest.CaptureFixture[str], needle: str) -> None:
    rc = cli.main(["run", *argv, "--headless"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1, err
    assert err.startswith("infbench-tui: error: ") and needle in err, err


def test_every_declared_option_is_a_stored_field_and_a_flag() -> None:
    fields = set(WorkloadSpec.__dataclass_fields__)
    parser, _ = cli.build_parser()
    for command in ("run", "sweep"):
        sub = parser.parse_args([command, "bert-tiny"])
        for option in WORKLOAD_OPTIONS:
            assert option.name in fields, option.name
            assert hasattr(sub, option.name), (command, option.flag)
    defaults = WorkloadSpec()
    for option in WORKLOAD_OPTIONS:  # the stored default is the declared one
        declared = option.default_value()
        assert getattr(defaults, option.name) == (declared[0] if option.kind == "ints" else declared)


def test_parsing_is_idempotent_and_typed() -> None:
    batch = workload_option("batch")
    assert batch.parse("1,8, 8,32") == [1, 8, 32]
    assert batch.parse([1, 8]) == [1, 8] and batch.parse(4) == [4] and batch.parse(None) == [1]
    assert batch.parse(batch.parse("2,4")) == [2, 4]
    assert workload_option("padding").parse(" Fixed ") == "fixed"
    assert workload_option("whole_corpus").parse(None) == 0
    with pytest.raises(ConfigError, match=r"^--batch must be integers ≥ 1 separated by commas.*got 0$"):
        batch.parse("8,0")
    with pytest.raises(ConfigError, match="--new-tokens must be an integer ≥ 2, got 1"):
        workload_option("new_tokens").parse("1")


def test_help_lists_the_workload_flags(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for option in WORKLOAD_OPTIONS:
        assert option.flag in text
    assert "--whole-corpus [N]" in text and "longest|fixed" in text and "prefill|generate" in text


def test_a_batch_list_makes_a_variant_per_backend_and_batch() -> None:
    plan = _plan("bert-tiny", "-b", "ort", "-b", "ov", "-b", "null", "--batch", "1,8", "--aa")
    assert plan.labels == [
        "onnxruntime[batch=1]",
        "onnxruntime[batch=8]",
        "openvino[batch=1]",
        "openvino[batch=8]",
        "null",  # a control measures the harness: once, whatever the batch
        "onnxruntime[batch=1]#aa",
    ]
    assert [b.options.get("batch") for b in plan.backends] == [1, 8, 1, 8, None, 1]
    assert plan.workload.batch == 1
    single = _plan("bert-tiny", "-b", "ort", "--batch", "4")
    assert (
        single.labels == ["onnxruntime"] and single.workload.batch == 4 and single.backends[0].options == {}
    )
    both = _plan("bert-tiny", "-b", "ort", "-b", "ort:threads=1", "--batch", "2,4")
    assert both.labels == [
        "onnxruntime[batch=2]",
        "onnxruntime[batch=4]",
        "onnxruntime[batch=2,threads=1]",
        "onnxruntime[batch=4,threads=1]",
    ]


def test_new_fields_are_stored_and_a_legacy_plan_gets_the_defaults() -> None:
    plan = _plan(
        *("bert-tiny", "-b", "null", "--corpus", "builtin", "--padding", "fixed", "--whole-corpus"),
        *("--batch", "4,16"),
    )
    wl = plan.workload
    assert (wl.padding, wl.whole_corpus, wl.corpus_texts, wl.task) == ("fixed", 3, 1000, "prefill")
    again = RunPlan.from_dict(json.loads(json.dumps(plan.to_dict())))
    assert again.workload == wl and again.backends == plan.backends
    legacy = plan.to_dict()
    for key in ("padding", "whole_corpus", "corpus_texts", "task", "prompt_len", "new_tokens"):
        del legacy["workload"][key]
    old = RunPlan.from_dict(legacy).workload
    assert (old.padding, old.whole_corpus, old.task, old.prompt_len, old.new_tokens) == (
        "longest",
        0,
        "prefill",
        32,
        32,
    )
    assert (
        _plan("bert-tiny", "-b", "null", "--corpus", "builtin", "--whole-corpus", "5").workload.whole_corpus
        == 5
    )


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--batch", "0"], "--batch must be integers ≥ 1"),
        (["--batch", "1,-8"], "--batch must be integers ≥ 1"),
        (["--padding", "shortest"], "--padding must be one of longest, fixed, got shortest"),
        (["--whole-corpus"], "--whole-corpus needs --corpus builtin|FILE"),
        (["--whole-corpus", "0", "--corpus", "builtin"], None),
        (["--corpus", "builtin", "--whole-corpus", "-2"], "--whole-corpus must be an integer ≥ 1, got -2"),
        (["--task", "decode"], "--task must be one of prefill, generate, got decode"),
        (["--new-tokens", "1"], "--new-tokens must be an integer ≥ 2, got 1"),
        (["--prompt-len", "0"], "--prompt-len must be an integer ≥ 1, got 0"),
        (["--task", "generate"], "--task generate: onnxruntime cannot generate; engines that can:"),
        (["--task", "generate", "--seq-dist", "uniform:1-4"], "--seq-dist does not apply to --task generate"),
    ],
)
def test_bad_workload_input_is_one_line_exit_two(argv, needle, capsys) -> None:
    if needle is None:  # 0 passes is off: a plain corpus run
        assert _plan("bert-tiny", "-b", "ort", *argv).workload.whole_corpus == 0
        return
    _bad(["bert-tiny", "-b", "ort", *argv], capsys, needle)


def test_a_syntax_error_is_argparse_s_one_line(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["run", "bert-tiny", "--batch", "1,x"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and len(err.strip().splitlines()) == 1
    assert "--batch" in err and "got 1,x" in err


@pytest.fixture
def declared(monkeypatch: pytest.MonkeyPatch):
    """Make engines declare `generates` / `takes_text` (as the generation and pipeline engines do)."""
    real = registry.engine_info

    def declare(**flags: Any) -> None:
        def info(name: str) -> Any:
            got = real(name)
            return dataclasses.replace(got, **flags[got.name]) if got.name in flags else got

        monkeypatch.setattr(registry, "engine_info", info)

    return declare


def test_generate_needs_a_causal_lm_and_room_for_the_tokens(declared, capsys) -> None:
    declared(onnxruntime={"generates": True})
    plan = _plan("gpt2-tiny", "-b", "ort", "--task", "generate", "--prompt-len", "16", "--new-tokens", "8")
    wl = plan.workload
    assert (wl.task, wl.prompt_len, wl.new_tokens) == ("generate", 16, 8)
    _bad(["bert-tiny", "-b", "ort", "--task", "generate"], capsys, "needs a causal language model")
    _bad(
        ["gpt2-tiny", "-b", "ort", "--task", "generate", "--prompt-len", "1000", "--new-tokens", "100"],
        capsys,
        "--prompt-len + --new-tokens = 1100 exceeds the model's maximum of 1024 positions",
    )
    # the null control runs any workload: it has no model to generate with
    assert _plan("bert-tiny", "-b", "null", "--task", "generate").workload.task == "generate"


def test_generate_on_a_local_directory_reads_its_architectures(declared, tmp_path, capsys) -> None:
    declared(onnxruntime={"generates": True})
    hf = tmp_path / "clf"
    hf.mkdir()
    (hf / "config.json").write_text(json.dumps({"architectures": ["BertForTokenClassification"]}))
    (hf / "model.safetensors").write_bytes(b"x")
    _bad([str(hf), "-b", "ort", "--task", "generate"], capsys, "clf is a token-classification model")
    (hf / "config.json").write_text(json.dumps({"architectures": ["GPT2LMHeadModel"], "n_positions": 64}))
    _bad(
        [str(hf), "-b", "ort", "--task", "generate", "--prompt-len", "60"], capsys, "maximum of 64 positions"
    )


def test_an_engine_taking_texts_needs_a_corpus(declared, capsys) -> None:
    declared(onnxruntime={"takes_text": True})
    _bad(["bert-tiny", "-b", "ort"], capsys, "--backend onnxruntime takes texts and tokenizes them itself")
    assert _plan("bert-tiny", "-b", "ort", "--corpus", "builtin").workload.corpus == "builtin"


def test_the_default_backends_are_those_that_can_run_the_workload(declared, monkeypatch) -> None:
    core = ("onnxruntime", "openvino", "torch", "null")
    monkeypatch.setattr(registry, "_targets", {k: v for k, v in registry._targets.items() if k in core})
    both = ("prefill", "generate")  # defaults for a generate run too (EngineInfo.default_for)
    declared(
        onnxruntime={"generates": True, "default_for": both},
        torch={"generates": True, "default_for": both},
        openvino={"generates": False, "default_for": both},
    )
    notes: list[str] = []
    plan = plan_from_args(_args("gpt2-tiny", "--task", "generate"), notes=notes)
    assert plan.labels == ["onnxruntime", "torch"]
    assert notes == ["openvino left out: it cannot generate (--task generate)"]
    declared(openvino={"takes_text": True})
    notes = []
    assert plan_from_args(_args("bert-tiny"), notes=notes).labels == ["onnxruntime", "torch"]
    assert notes == ["openvino left out: it takes texts, and there is no --corpus"]
    with_corpus = plan_from_args(_args("bert-tiny", "--corpus", "builtin"))
    assert with_corpus.labels == ["onnxruntime", "openvino", "torch"]


def test_a_deployment_variant_runs_only_when_named(declared, monkeypatch) -> None:
    """An engine that is not a default for the task (`EngineInfo.default_for`) is left out silently."""
    core = ("onnxruntime", "openvino", "torch", "optimum-ort", "pipeline", "ov-genai", "null")
    monkeypatch.setattr(registry, "_targets", {k: v for k, v in registry._targets.items() if k in core})
    declared(openvino={"default_for": ()})
    notes: list[str] = []
    assert plan_from_args(_args("bert-tiny"), notes=notes).labels == ["onnxruntime", "torch"] and notes == []
    assert plan_from_args(_args("bert-tiny", "-b", "ov")).labels == ["openvino"]
