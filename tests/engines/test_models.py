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


# --- each weight stored once (a head tied to the embedding), sizes on disk ---

TINY_GPT2 = models._gpt2("gpt2-test", 32, 2, 2, "tiny GPT-2 for tests")  # the built-in recipe, small dims
GPT2_VOCAB = TINY_GPT2.config["vocab_size"]


def _gpt2_source() -> ModelSource:
    return ModelSource("builtin", TINY_GPT2.name, None, TINY_GPT2)


@pytest.fixture(scope="module")
def tiny_gpt2(cache_dir) -> ModelFiles:
    """A tiny GPT-2 built and exported through the built-in code path (its head is tied to the embedding)."""
    return prepare_model(_gpt2_source(), need_onnx=True, need_hf=True)


def test_tied_gpt2_embedding_is_stored_once_and_outputs_match_torch(tiny_gpt2):
    import numpy as np
    import onnx
    import onnxruntime as ort
    import openvino as ov
    import torch

    hidden = TINY_GPT2.hidden
    graph = onnx.load(tiny_gpt2.onnx_path).graph
    tables = [t for t in graph.initializer if sorted(t.dims) == sorted([GPT2_VOCAB, hidden])]
    assert [list(t.dims) for t in tables] == [[GPT2_VOCAB, hidden]]  # the embedding, once, not its transpose
    readers = [n for n in graph.node if tables[0].name in n.input]
    assert sorted(n.op_type for n in readers) == ["Gather", "Transpose"]  # the embedding and the tied head
    meta = mc.read_export_meta(Path(tiny_gpt2.onnx_path).parent)
    assert meta["export_version"] == mc.EXPORT_VERSION
    assert [(w["kept"], w["how"]) for w in meta["shared_weights"]] == [(tables[0].name, "transposed")]
    # the file holds the weights once: about the size of the HF weights (where the tie is stored once too)
    table_mb = GPT2_VOCAB * hidden * 4 / 1e6
    assert meta["size_mb"] < tiny_gpt2.size_mb + table_mb / 4, (meta["size_mb"], tiny_gpt2.size_mb)

    rng = np.random.default_rng(0)
    ids = rng.integers(0, GPT2_VOCAB, (2, 16), dtype=np.int64)
    mask = np.ones_like(ids)
    mask[1, 11:] = 0
    hf = mc.load_hf_model(tiny_gpt2.hf_dir, "causal-lm")
    with torch.no_grad():
        want = hf(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask), use_cache=False)
    want = want.logits.numpy()
    feed = {"input_ids": ids, "attention_mask": mask}
    for level in (ort.GraphOptimizationLevel.ORT_ENABLE_ALL, ort.GraphOptimizationLevel.ORT_DISABLE_ALL):
        opts = ort.SessionOptions()
        opts.graph_optimization_level = level  # folded at load, or transposed at run time: the same logits
        sess = ort.InferenceSession(tiny_gpt2.onnx_path, opts, providers=["CPUExecutionProvider"])
        np.testing.assert_allclose(sess.run(None, feed)[0], want, atol=1e-4, rtol=1e-4)
    compiled = ov.Core().compile_model(tiny_gpt2.onnx_path, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    np.testing.assert_allclose(compiled(feed)[0], want, atol=1e-4, rtol=1e-4)


def _graph_with_repeats():
    """A graph whose weights repeat: an exact copy, a transposed copy, a distinct one and small constants."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(1)
    emb = rng.standard_normal((64, 32)).astype(np.float32)
    other = rng.standard_normal((32, 64)).astype(np.float32)
    small = np.arange(4, dtype=np.float32)
    inits = [
        numpy_helper.from_array(emb, "emb"),
        numpy_helper.from_array(emb.copy(), "emb_copy"),
        numpy_helper.from_array(np.ascontiguousarray(emb.T), "head"),
        numpy_helper.from_array(other, "other"),
        numpy_helper.from_array(small, "small"),
        numpy_helper.from_array(small.copy(), "small_copy"),
    ]
    nodes = [
        helper.make_node("Gather", ["emb", "ids"], ["g1"]),
        helper.make_node("Gather", ["emb_copy", "ids"], ["g2"]),
        helper.make_node("MatMul", ["x", "head"], ["y"]),
        helper.make_node("MatMul", ["x", "other"], ["z"]),
        helper.make_node("Add", ["small", "small_copy"], ["s"]),
    ]
    f32 = TensorProto.FLOAT
    graph = helper.make_graph(
        nodes,
        "repeats",
        [
            helper.make_tensor_value_info("ids", TensorProto.INT64, [3]),
            helper.make_tensor_value_info("x", f32, [2, 32]),
        ],
        [
            helper.make_tensor_value_info(n, f32, shape)
            for n, shape in (("g1", [3, 32]), ("g2", [3, 32]), ("y", [2, 64]), ("z", [2, 64]), ("s", [4]))
        ],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_dedup_shares_exact_and_transposed_repeats_and_keeps_outputs(tmp_path):
    import numpy as np
    import onnx
    import onnxruntime as ort

    from infbench.engines._dedup import dedup_file, dedup_initializers, unshare_transposed

    path = tmp_path / "repeats.onnx"
    onnx.save(_graph_with_repeats(), str(path))
    feed = {
        "ids": np.array([0, 5, 63]),
        "x": np.random.default_rng(2).standard_normal((2, 32)).astype(np.float32),
    }
    before = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feed)
    size_before = path.stat().st_size
    shared = dedup_file(path)
    assert {(s.dropped, s.kept, s.how) for s in shared} == {
        ("emb_copy", "emb", "same"),
        ("head", "emb", "transposed"),
    }
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    assert [t.name for t in model.graph.initializer] == ["emb", "other", "small", "small_copy"]
    assert size_before - path.stat().st_size > 2 * 64 * 32 * 4 * 0.9  # two 8 kB tables fewer
    after = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feed)
    for b, a in zip(before, after, strict=True):
        np.testing.assert_array_equal(a, b)
    assert dedup_initializers(model) == []  # already stored once: nothing more to do
    # for quantizers that need the head's weight as an initializer: the transposed copy comes back
    assert unshare_transposed(model) == 1
    assert sorted(t.name for t in model.graph.initializer) == ["emb", "head", "other", "small", "small_copy"]
    assert not [n for n in model.graph.node if n.op_type == "Transpose"]
    again = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        None, feed
    )
    for b, a in zip(before, again, strict=True):
        np.testing.assert_array_equal(a, b)


def test_old_export_of_a_tied_model_is_redone_and_other_exports_stay(tiny_gpt2, tmp_path):
    root = Path(tiny_gpt2.onnx_path).parent
    meta_path = root / mc.EXPORT_META
    meta = json.loads(meta_path.read_text())
    old = {k: v for k, v in meta.items() if k not in ("export_version", "shared_weights")}
    mc.write_json(meta_path, old)  # what an export from before the format bump left
    assert mc.export_version(root) == 1 and mc.onnx_ready(root)
    assert not mc.onnx_ready(root, mc.required_export_version("causal-lm"))
    lines: list[str] = []
    again = prepare_model(_gpt2_source(), need_onnx=True, need_hf=True, progress=lines.append)
    assert [line.split(" ")[0] for line in lines] == ["exporting", "cached"]  # the HF weights are not rebuilt
    assert again.onnx_path == tiny_gpt2.onnx_path and mc.export_version(root) == mc.EXPORT_VERSION
    # a token classifier has no head tied to its embedding: its export from before the bump stays valid
    (tmp_path / mc.ONNX_NAME).write_bytes(b"x")
    mc.write_json(tmp_path / mc.EXPORT_META, old)
    assert models._export_current(tmp_path, "token-classification")
    assert not models._export_current(tmp_path, "causal-lm") and not models._export_current(
        tmp_path, "masked-lm"
    )


def test_models_command_shows_sizes_on_disk(tiny, tiny_gpt2, capsys, monkeypatch):
    from infbench.cli import main
    from infbench.metrics import fmt_mb

    monkeypatch.setitem(models.BUILTIN_MODELS, TINY_GPT2.name, TINY_GPT2)
    monkeypatch.setenv("COLUMNS", "240")
    assert main(["models", "--json"]) == 0
    rows = {m["name"]: m for m in json.loads(capsys.readouterr().out)["models"]}
    bert = rows["bert-tiny"]
    onnx_mb = Path(tiny.onnx_path).stat().st_size / 1e6
    assert (
        bert["cached"]
        and bert["hf_mb"] == tiny.size_mb
        and bert["onnx_mb"] == pytest.approx(onnx_mb, abs=0.01)
    )
    weights = sum(p.stat().st_size for p in Path(tiny.hf_dir).glob("*.safetensors")) / 1e6
    assert bert["hf_mb"] == pytest.approx(weights, abs=0.01) and not bert["onnx_outdated"]
    gpt2 = rows[TINY_GPT2.name]
    assert gpt2["onnx_mb"] == pytest.approx(Path(tiny_gpt2.onnx_path).stat().st_size / 1e6, abs=0.01)
    assert not is_cached("bert-base")
    base = rows["bert-base"]
    assert (base["cached"], base["hf_mb"], base["onnx_mb"]) == (False, None, None)

    root = Path(tiny_gpt2.onnx_path).parent
    meta = json.loads((root / mc.EXPORT_META).read_text())
    try:
        mc.write_json(root / mc.EXPORT_META, {**meta, "export_version": 1})
        assert models.disk_usage(TINY_GPT2.name).onnx_outdated and not is_cached(TINY_GPT2.name)
        assert main(["models"]) == 0
        text = capsys.readouterr().out
    finally:
        mc.write_json(root / mc.EXPORT_META, meta)
    assert is_cached(TINY_GPT2.name)
    line = {
        name: next(ln for ln in text.splitlines() if f" {name} " in ln)
        for name in ("bert-tiny", "bert-base", "gpt2-small", TINY_GPT2.name)
    }
    assert f"hf {fmt_mb(bert['hf_mb'])}, onnx {fmt_mb(bert['onnx_mb'])}" in line["bert-tiny"]
    assert "not built yet" in line["bert-base"] and "not built yet" in line["gpt2-small"]
    assert "(old export, redone on next use)" in line[TINY_GPT2.name]
