"""Engine option schemas: typed parsing with one-line errors, the README table generated from them, and engine
modules that the parent imports without their backend packages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from infbench.engines.docs import options_markdown, readme_section, replace_section
from infbench.engines.options import Option, OptionSchema
from infbench.engines.registry import BUILTIN, engine_info
from infbench.errors import ConfigError

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_option_section_is_generated_from_the_schemas() -> None:
    section = readme_section(README.read_text())
    assert section is not None, "README.md lacks the <!-- options:start --> / <!-- options:end --> markers"
    assert section == options_markdown(), (
        "README.md's backend option table differs from the engines' schemas: "
        "regenerate it with `python -m infbench.engines.docs --write README.md`"
    )


def test_replacing_the_section_keeps_the_rest() -> None:
    text = "before\n<!-- options:start -->\nold\n<!-- options:end -->\nafter\n"
    assert (
        replace_section(text, "new\n") == "before\n<!-- options:start -->\nnew\n<!-- options:end -->\nafter\n"
    )
    with pytest.raises(ValueError):
        replace_section("no markers", "x")


@pytest.mark.parametrize("name", list(BUILTIN))
def test_every_builtin_schema_accepts_its_documented_defaults(name: str) -> None:
    info = engine_info(name)
    for option in info.options:
        if option.default is not None:
            assert option.parse(str(option.default)) == option.default, option.name
            assert option.parse(option.default) == option.default  # idempotent on typed values
    resolved = info.options.resolve(info.name, {})
    assert resolved == {o.name: o.default for o in info.options if o.default is not None}
    for flag in (info.thread_option, info.inter_thread_option, info.device_option):
        assert flag is None or info.options.get(flag) is not None


def test_the_parity_reference_is_declared_not_named() -> None:
    priorities = {name: engine_info(name).parity_priority for name in BUILTIN}
    assert max(priorities, key=priorities.__getitem__) == "torch"
    assert engine_info("null").is_control and not any(
        engine_info(n).is_control for n in BUILTIN if n != "null"
    )


def test_option_kinds_parse_text_and_typed_values() -> None:
    n = Option("n", "int", "a count", minimum=1)
    assert n.parse("3") == 3 and n.parse(3) == 3
    for bad in ("0", "1.5", "x", "", True, "１"):
        with pytest.raises(ConfigError, match="n must be an integer ≥ 1"):
            n.parse(bad)
    f = Option("f", "float", "a share", minimum=0)
    assert f.parse("0.5") == 0.5
    with pytest.raises(ConfigError, match="f must be a number ≥ 0"):
        f.parse("nan")
    b = Option("b", "bool", "a switch")
    assert b.parse("yes") is True and b.parse("off") is False and b.parse(True) is True
    dev = Option(
        "device", "choice", "a device", choices=("cpu", "cuda"), pattern=r"cuda:[0-9]+", pattern_help="cuda:N"
    )
    assert dev.parse("CUDA") == "cuda" and dev.parse("cuda:1") == "cuda:1"
    with pytest.raises(ConfigError, match=r"^--device tpu: device must be one of cpu, cuda, cuda:N$"):
        dev.parse("tpu", where="--device tpu")
    lst = Option("p", "list", "providers", choices=("A", "B"), aliases={"a": "A"})
    assert lst.parse("a+B") == ["A", "B"] and lst.parse(["A"]) == ["A"]
    s = Option("s", "str", "a path")
    with pytest.raises(ConfigError):
        s.parse("a\rb")  # control characters never reach a label or a message


def test_unknown_keys_name_the_valid_ones_with_a_suggestion() -> None:
    schema = OptionSchema(
        (Option("threads", "int", "t"), Option("graph_opt", "choice", "g", choices=("all",)))
    )
    with pytest.raises(ConfigError) as info:
        schema.validate("onnxruntime", {"thread": "2"}, where="--backend ort:thread=2")
    assert str(info.value) == (
        "--backend ort:thread=2: unknown option 'thread' for onnxruntime: valid are threads, graph_opt "
        "(did you mean threads?)"
    )
    with pytest.raises(ConfigError, match=r"^unknown option 'zzz' for x: valid are threads, graph_opt$"):
        schema.validate("x", {"zzz": "1"})
    assert schema.validate("x", {"Graph-Opt": "ALL"}) == {"graph_opt": "all"}


def test_engine_modules_import_without_their_backends() -> None:
    """The parent reads every engine's declaration cheaply: no onnxruntime/openvino/torch import."""
    code = (
        "import sys\n"
        "from infbench.engines.registry import BUILTIN, engine_info\n"
        "[engine_info(n) for n in BUILTIN]\n"
        "heavy = [m for m in ('onnxruntime', 'openvino', 'torch', 'transformers') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == ""
