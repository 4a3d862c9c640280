"""Built-in models, the model cache, model resolution errors and shape checks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

from infbench.engines import _modelcache as mc
from infbench.engines import models
from infbench.engines.base import InputSpec, ModelFiles
from infbench.engines.models import (
    BUILTIN_MODELS,
    ModelSource,
    cache_root,
    check_shapes,
    is_cached,
    prepare_model,
    resolve_model,
)
from infbench.errors import ModelError

ROOT = Path(__file__).resolve().parents[2]


def test_builtin_family_is_complete_and_params_match_transformers():
    assert {"bert-tiny", "bert-small", "bert-base", "gpt2-small"} <= set(BUILTIN_MODELS)
    small = BUILTIN_MODELS["bert-small"]
    assert (small.hidden, small.layers, small.config["num_attention_heads"]) == (256, 4, 4)
    assert small.config["intermediate_size"] == 1024
    assert BUILTIN_MODELS["bert-base"].config["num_labels"] == 9
    assert BUILTIN_MODELS["gpt2-small"].task == "causal-lm"
    assert BUILTIN_MODELS["gpt2-small"].approx_params == 124_439_808  # GPT-2 small's published count


def test_cache_root_precedence(monkeypatch):
    monkeypatch.setenv("INFBENCH_CACHE_DIR", "/x/cache")
    assert cache_root() == Path("/x/cache")
    monkeypatch.delenv("INFBENCH_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", "/x/xdg")
    assert cache_root() == Path("/x/xdg/infbench")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", "/x/home")
    assert cache_root() == Path("/x/home/.cache/infbench")


def test_build_then_cached_round_trip_imports_no_torch(tiny_build, cache_dir):
    model, lines = tiny_build
    assert any(line.startswith("building bert-tiny") for line in lines)
    assert any("ONNX" in line for line in lines) and any(line.startswith("cached at") for line in lines)
    assert model.kind == "builtin" and model.task == "token-classification"
    assert Path(model.onnx_path).is_file() and (Path(model.hf_dir) / "config.json").is_file()
    assert [i.name for i in model.inputs] == ["input_ids", "attention_mask", "token_type_ids"]
    assert all(i.dtype == "int64" and isinstance(i.shape[1], str) for i in model.inputs)
    assert model.vocab_size == 30522 and model.size_mb > 1
    assert model.extra["max_positions"] == 512 and model.extra["num_labels"] == 9
    assert is_cached("bert-tiny") and not is_cached("bert-base") and not is_cached("nope")
    # a second prepare, in a fresh interpreter, reads the cache only: no torch, transformers or onnx
    code = (
        "import sys; from infbench.engines.models import prepare_model; "
        "m = prepare_model('bert-tiny', True, True, print); print(m.onnx_path); "
        "print(sorted(x for x in ('torch', 'transformers', 'onnx') if x in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "INFBENCH_CACHE_DIR": cache_dir},
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    # exactly two lines: no progress lines (nothing was built), the cached path, and no heavy imports
    assert out.stdout.strip().splitlines() == [model.onnx_path, "[]"]


def test_concurrent_builds_build_once(monkeypatch, tmp_path):
    monkeypatch.setenv("INFBENCH_CACHE_DIR", str(tmp_path))
    calls = {"build": 0, "export": 0}
    arrived: list[int] = []  # threads that reached the build lock (before acquiring it)
    changed = threading.Condition()
    real_locked = mc.locked
    waits: list[bool] = []

    @contextmanager
    def counted_locked(root):
        with changed:
            arrived.append(threading.get_ident())
            changed.notify_all()
        with real_locked(root):
            yield

    def fake_build(family, config, seed, dest):
        calls["build"] += 1
        with changed:  # build only once every thread is at the lock: they all want the model now
            waits.append(changed.wait_for(lambda: len(arrived) == 3, timeout=60))
        (dest / "config.json").write_text("{}")
        (dest / "model.safetensors").write_bytes(b"0" * 100)

    def fake_export(hf_dir, task, names, root):
        calls["export"] += 1
        mc.write_json(
            root / mc.EXPORT_META, {"inputs": mc.inputs_to_json(mc.token_inputs(None)), "size_mb": 0}
        )
        (root / mc.ONNX_NAME).write_bytes(b"x")

    monkeypatch.setattr(mc, "build_builtin", fake_build)
    monkeypatch.setattr(mc, "export_onnx", fake_export)
    monkeypatch.setattr(mc, "locked", counted_locked)
    results: list[ModelFiles] = []
    errors: list[BaseException] = []  # an exception in a thread is only a warning: collect, assert here

    def prepare() -> None:
        try:
            results.append(prepare_model("bert-small", True, True))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=prepare) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and waits == [True]
    assert calls == {"build": 1, "export": 1} and len(results) == 3
    assert len({r.onnx_path for r in results}) == 1
    leftovers = [p.name for p in (tmp_path / "models").iterdir() if p.name.startswith(".tmp")]
    assert leftovers == []


def test_failed_build_leaves_nothing_behind(monkeypatch, tmp_path):
    monkeypatch.setenv("INFBENCH_CACHE_DIR", str(tmp_path))

    def broken(family, config, seed, dest):
        (dest / "partial").write_text("x")
        raise ModelError("boom")

    monkeypatch.setattr(mc, "build_builtin", broken)
    with pytest.raises(ModelError, match="boom"):
        prepare_model("bert-small", False, True)
    assert not is_cached("bert-small")
    assert [p for p in (tmp_path / "models").rglob("*") if p.is_file() and not p.name.endswith(".lock")] == []


def test_resolve_errors_are_actionable(tmp_path):
    with pytest.raises(ModelError, match=r"did you mean bert-tiny\?.*bert-small"):
        resolve_model("bert-tiyn")
    with pytest.raises(ModelError, match="unknown model 'resnet'.*built-ins are bert-tiny"):
        resolve_model("resnet")
    with pytest.raises(ModelError, match="does not exist"):
        resolve_model(str(tmp_path / "missing.onnx"))
    with pytest.raises(ModelError, match="does not exist"):
        resolve_model("some-org/some-model")
    text = tmp_path / "model.txt"
    text.write_text("hello")
    with pytest.raises(ModelError, match="is not an .onnx file"):
        resolve_model(str(text))
    with pytest.raises(ModelError, match="without config.json"):
        resolve_model(str(tmp_path))
    for err in ("bert-tiyn", str(text)):
        with pytest.raises(ModelError) as info:
            resolve_model(err)
        assert "\n" not in str(info.value)


@pytest.mark.parametrize("content", ["garbage", "empty", "truncated"])
def test_corrupt_onnx_is_a_model_error(tiny, tmp_path, content):
    bad = tmp_path / "bad.onnx"
    data = Path(tiny.onnx_path).read_bytes()
    bad.write_bytes(
        {
            "garbage": b"\x08\x07not a protobuf \xff\xfe" * 50,
            "empty": b"",
            "truncated": data[: len(data) // 2],
        }[content]
    )
    with pytest.raises(ModelError, match="is not a valid ONNX model"):
        prepare_model(str(bad), need_onnx=True, need_hf=False)


def test_onnx_file_source(tiny, tmp_path):
    path = tmp_path / "tiny.onnx"
    shutil.copy(tiny.onnx_path, path)
    model = prepare_model(str(path), need_onnx=True, need_hf=False)
    assert model.kind == "onnx" and model.onnx_path == str(path) and model.hf_dir is None
    assert model.inputs == tiny.inputs and model.vocab_size == 30522
    assert model.size_mb == pytest.approx(path.stat().st_size / 1e6, abs=0.01)
    with pytest.raises(ModelError, match="torch backend needs a Hugging Face model directory"):
        prepare_model(str(path), need_onnx=True, need_hf=True)


def test_hf_dir_source_exports_once_and_then_reads_only_the_cache(tiny, tmp_path, cache_dir):
    hf = tmp_path / "my-bert"
    shutil.copytree(tiny.hf_dir, hf)
    src = resolve_model(str(hf))
    assert src == ModelSource("hf", "my-bert", str(hf), None)
    lines: list[str] = []
    model = prepare_model(src, need_onnx=True, need_hf=True, progress=lines.append)
    assert model.kind == "hf" and model.hf_dir == str(hf) and Path(model.onnx_path).is_file()
    assert model.inputs == tiny.inputs and model.task == "token-classification" and not model.has_tokenizer
    assert any("ONNX" in line for line in lines)
    lines.clear()
    again = prepare_model(str(hf), need_onnx=True, need_hf=True, progress=lines.append)
    assert again.onnx_path == model.onnx_path and lines == []
    code = (
        "import sys; from infbench.engines.models import prepare_model; "
        f"prepare_model({str(hf)!r}, True, True); print('torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "INFBENCH_CACHE_DIR": cache_dir},
        cwd=ROOT,
    )
    assert out.stdout.strip() == "False", out.stderr
    (hf / "model.safetensors").unlink()
    with pytest.raises(ModelError, match="has no weights"):
        prepare_model(str(hf), need_onnx=False, need_hf=True)


def test_hf_dir_with_unusable_config(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "no-such-architecture"}))
    (tmp_path / "model.safetensors").write_bytes(b"0")
    with pytest.raises(ModelError, match="config.json cannot be used"):
        prepare_model(str(tmp_path), need_onnx=False, need_hf=True)


def _files(*inputs: InputSpec, max_positions: int | None = None) -> ModelFiles:
    extra = {"max_positions": max_positions} if max_positions else {}
    return ModelFiles("m", "onnx", "m.onnx", None, inputs, extra=extra)


def test_check_shapes():
    dynamic = _files(InputSpec("input_ids", "int64", ("batch", "seq")), max_positions=512)
    check_shapes(dynamic, 8, 512)
    with pytest.raises(ModelError, match="maximum of 512 positions"):
        check_shapes(dynamic, 1, 513)
    static = _files(InputSpec("input_ids", "int64", (1, 128)))
    check_shapes(static, 1, 128)
    with pytest.raises(ModelError, match="fixed batch size 1: run with --batch 1"):
        check_shapes(static, 4, 128)
    with pytest.raises(ModelError, match="fixed sequence length 128: run with --seq 128"):
        check_shapes(static, 1, 64)
    image = _files(InputSpec("pixels", "float32", ("N", 3, 224, 224)))
    check_shapes(image, 2, 77)  # a float input's static dims are not a sequence length


def _builtin_like(model: models.BuiltinModel, config: dict) -> models.BuiltinModel:
    return models.BuiltinModel(
        model.name, model.family, model.task, model.description, config, model.approx_params
    )


def test_builtin_key_follows_what_is_built_and_nothing_else(monkeypatch):
    tiny = BUILTIN_MODELS["bert-tiny"]
    key = models._builtin_key(tiny)
    # an equal model built separately, its config written in another order: the same cache entry
    twin = _builtin_like(tiny, dict(reversed(list(tiny.config.items()))))
    assert twin is not tiny and list(twin.config) != list(tiny.config)
    assert models._builtin_key(twin) == key
    # another config, or the same config under another transformers: another cache entry
    assert models._builtin_key(_builtin_like(tiny, {**tiny.config, "num_labels": 3})) != key
    real_version = models.metadata.version
    monkeypatch.setattr(
        models.metadata,
        "version",
        lambda name: "0.0.0-other" if name == "transformers" else real_version(name),
    )
    assert models._builtin_key(tiny) != key


def test_models_command_lists_builtins(capsys):
    from infbench.cli import main

    assert main(["models", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    names = [m["name"] for m in listing["models"]]
    assert names[:4] == ["bert-tiny", "bert-small", "bert-base", "gpt2-small"]
    small = listing["models"][1]
    assert small["default"] and small["layers"] == 4 and small["hidden"] == 256 and small["params"] > 1e6
    engines = {e["name"]: e for e in listing["engines"]}  # from the registry: every engine with its options
    assert [o["name"] for o in engines["null"]["options"]] == ["keep"] and engines["null"]["roles"] == [
        "control"
    ]
    assert "graph_opt" in [o["name"] for o in engines["onnxruntime"]["options"]]
    assert main(["models"]) == 0
    text = capsys.readouterr().out
    assert "bert-small" in text and ".onnx" in text
