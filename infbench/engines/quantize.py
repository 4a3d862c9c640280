"""Quantized variants of a model, built in the engine child at load and cached under the model cache.

ONNX Runtime: dynamic INT8 (`onnxruntime.quantization.quantize_dynamic`, weights QInt8). OpenVINO, through
NNCF: INT8 weight compression (`nncf.compress_weights`) or full post-training INT8 (`nncf.quantize`) with a
calibration set. Each artefact lives in ``<cache>/quantized/<kind>-<model>-<key>/``; the key hashes the source
file (path, size, mtime) and every quantization setting, library versions included, so a second load reuses it.
It appears by an atomic rename under a lock, so parallel children build it once. Backends and nncf are imported
inside the functions: importing this module is cheap.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from infbench.engines import _modelcache as mc
from infbench.engines.base import InputSpec

log = logging.getLogger(__name__)

QUANT_DIR = "quantized"
META = "quant.json"
ORT_INT8 = {"method": "quantize_dynamic", "weight_type": "QInt8", "per_channel": False, "reduce_range": False}
OV_WEIGHTS = {"method": "compress_weights", "mode": "INT8_ASYM"}
OV_INT8 = {"method": "quantize", "preset": "performance", "model_type": "transformer"}
CALIBRATION_ITEMS = 16  # random calibration inputs when the workload's are not given
CALIBRATION_SEQ = 32
_EXTERNAL_DATA_BYTES = 1_800_000_000  # protobuf's 2 GB limit, with room for the graph


@dataclass(frozen=True)
class Artefact:
    """A quantized model on disk.

    Attributes:
        path: the file an engine loads (``model.onnx`` or ``model.xml``).
        built: True when this call built it, False when it came from the cache.
        settings: what it was built with (hashed into its cache key).
    """

    path: Path
    built: bool
    settings: dict[str, Any]

    @property
    def cache(self) -> str:
        """``built`` or ``reused`` (for `LoadResult.details`)."""
        return "built" if self.built else "reused"


def file_mb(path: str | Path) -> float:
    """Size on disk, MB, of a model file with what it loads alongside: ONNX external data (files named after
    it, ``model.onnx.data``) or an OpenVINO IR's ``.bin``."""
    p = Path(path)
    total = p.stat().st_size
    if p.suffix == ".xml" and p.with_suffix(".bin").is_file():
        total += p.with_suffix(".bin").stat().st_size
    else:
        total += sum(
            f.stat().st_size
            for f in p.parent.iterdir()
            if f.name.startswith(p.name) and f.name != p.name and f.is_file()
        )
    return round(total / 1e6, 3)


def cache_key(source: str | Path, settings: Mapping[str, Any]) -> str:
    """16 hex digits naming `source` as it is now (resolved path, size, mtime) quantized with `settings`."""
    p = Path(source).resolve()
    st = p.stat()
    blob = json.dumps(
        {"source": str(p), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "settings": dict(settings)},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def artefact_dir(kind: str, source: str | Path, settings: Mapping[str, Any]) -> Path:
    """Where the `kind` artefact of `source` built with `settings` is cached."""
    from infbench.engines.models import cache_root

    p = Path(source)
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{p.parent.name}-{p.stem}")[-60:]
    return cache_root() / QUANT_DIR / f"{kind}-{name}-{cache_key(p, settings)}"


def cached(
    kind: str,
    source: str | Path,
    settings: dict[str, Any],
    filename: str,
    build: Callable[[Path, Path], None],
) -> Artefact:
    """The artefact `filename` of `kind` for `source`, built by ``build(source, tmp_dir)`` when not cached.

    The build writes into a private directory renamed into place once complete (under a lock), so a failed or
    concurrent build never leaves a half-written artefact.
    """
    root = artefact_dir(kind, source, settings)
    target = root / filename
    if target.is_file():
        return Artefact(target, False, settings)
    with mc.locked(root):
        if target.is_file():
            return Artefact(target, False, settings)

        def build_all(tmp: Path) -> None:
            build(Path(source), tmp)
            if not (tmp / filename).is_file():
                raise RuntimeError(f"the {kind} build wrote no {filename}")
            mc.write_json(tmp / META, {"kind": kind, "source": str(Path(source).resolve()), **settings})

        log.info("building %s of %s in %s", kind, source, root)
        mc.atomic_dir(root, build_all)
    return Artefact(target, True, settings)


@contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """The quantizers log advice through the root logger; keep it out of the child's stderr."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.ERROR))
    try:
        yield
    finally:
        root.setLevel(level)


def ort_dynamic_int8(source: str | Path) -> Artefact:
    """ONNX Runtime dynamic INT8 of the ONNX file `source` (weights QInt8 per tensor, activations quantized at
    run time), cached."""
    import onnxruntime
    from onnxruntime.quantization import QuantType, quantize_dynamic

    settings = {**ORT_INT8, "onnxruntime": onnxruntime.__version__}

    def build(src: Path, tmp: Path) -> None:
        with _quiet_root_logger():
            quantize_dynamic(
                src,
                tmp / mc.ONNX_NAME,
                weight_type=QuantType.QInt8,
                per_channel=False,
                reduce_range=False,
                use_external_data_format=file_mb(src) * 1e6 > _EXTERNAL_DATA_BYTES,
            )

    return cached("ort-int8", source, settings, mc.ONNX_NAME, build)


def nncf_module() -> Any:
    """The nncf package (imported by name: it is optional and untyped here)."""
    return importlib.import_module("nncf")


def ov_int8_weights(source: str | Path) -> Artefact:
    """OpenVINO IR of `source` with INT8 weights (NNCF weight compression, asymmetric), cached."""
    import openvino as ov

    nncf = nncf_module()
    settings = {**OV_WEIGHTS, "nncf": nncf.__version__, "openvino": ov.get_version()}

    def build(src: Path, tmp: Path) -> None:
        model = ov.Core().read_model(str(src))
        with _quiet_root_logger():
            compressed = nncf.compress_weights(model, mode=nncf.CompressWeightsMode.INT8_ASYM)
        ov.save_model(compressed, str(tmp / "model.xml"), compress_to_fp16=False)

    return cached("ov-int8-weights", source, settings, "model.xml", build)


def ov_int8(
    source: str | Path, calibration: Sequence[dict[str, np.ndarray]], calibration_from: str
) -> Artefact:
    """OpenVINO IR of `source` fully quantized to INT8 (NNCF post-training quantization, transformer model type)
    calibrated on `calibration` (input dicts); `calibration_from` says where they came from. Cached: the
    calibration data are hashed into the key."""
    import openvino as ov

    nncf = nncf_module()
    digest = hashlib.sha256()
    for item in calibration:
        for name in sorted(item):
            digest.update(name.encode())
            digest.update(np.ascontiguousarray(item[name]).tobytes())
    settings = {
        **OV_INT8,
        "subset_size": len(calibration),
        "calibration": calibration_from,
        "calibration_sha": digest.hexdigest()[:16],
        "nncf": nncf.__version__,
        "openvino": ov.get_version(),
    }

    def build(src: Path, tmp: Path) -> None:
        model = ov.Core().read_model(str(src))
        with _quiet_root_logger():
            quantized = nncf.quantize(
                model,
                nncf.Dataset(list(calibration)),
                preset=nncf.QuantizationPreset.PERFORMANCE,
                model_type=nncf.ModelType.TRANSFORMER,
                subset_size=len(calibration),
            )
        ov.save_model(quantized, str(tmp / "model.xml"), compress_to_fp16=False)

    return cached("ov-int8", source, settings, "model.xml", build)


def random_calibration(
    inputs: Sequence[InputSpec], vocab_size: int, n: int = CALIBRATION_ITEMS, seq: int = CALIBRATION_SEQ
) -> list[dict[str, np.ndarray]]:
    """`n` input dicts of random token ids for the model's `inputs` (batch 1, `seq` tokens unless the model
    fixes its shape), deterministic: ids in [0, vocab_size), attention masks of ones, other integer inputs
    zeros, float inputs standard normal."""
    rng = np.random.default_rng(0)
    items = []
    for _ in range(n):
        item = {}
        for spec in inputs:
            dims = tuple(
                d if isinstance(d, int) and d > 0 else (1 if i == 0 else seq)
                for i, d in enumerate(spec.shape)
            )
            dtype = np.dtype(spec.dtype)
            if "mask" in spec.name:
                item[spec.name] = np.ones(dims, dtype=dtype)
            elif np.issubdtype(dtype, np.integer) and "ids" in spec.name and "type" not in spec.name:
                item[spec.name] = rng.integers(0, max(int(vocab_size), 1), size=dims).astype(dtype)
            elif np.issubdtype(dtype, np.integer):
                item[spec.name] = np.zeros(dims, dtype=dtype)
            else:
                item[spec.name] = rng.standard_normal(dims).astype(dtype)
        items.append(item)
    return items
