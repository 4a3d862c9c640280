"""Storing each weight of an ONNX export once.

A language model whose head shares the token embedding (GPT-2's ``lm_head`` is ``wte``) comes out of the
TorchScript exporter with the weight twice: once for the embedding Gather and once, transposed by constant
folding, for the head's MatMul. `dedup_initializers` keeps the first copy and turns a repeat into a reference
to it (an exact repeat) or into a ``Transpose`` node reading it (a transposed repeat). Runtimes fold that
Transpose back at load, so outputs are unchanged and the file holds the weight once.

onnx and numpy are imported inside the functions: importing this module is cheap.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MIN_ELEMENTS = 1024  # smaller constants (shapes, scalars) are left alone: nothing to gain
SHARED_SUFFIX = "/shared_weight"  # name suffix of the Transpose nodes that read a kept weight


@dataclass(frozen=True)
class SharedWeight:
    """An initializer dropped from the file: it repeated `kept` (``how``: ``same`` or ``transposed``)."""

    dropped: str
    kept: str
    how: str
    mb: float


def dedup_initializers(model: Any) -> list[SharedWeight]:
    """Drop initializers of `model` (an onnx.ModelProto, edited in place) that repeat an earlier one.

    Only initializers held in the file itself are considered (external data is left as it is). Candidates are
    grouped by element type and count, hashed, and confirmed element by element before anything changes.

    Returns:
        What was shared; empty when every weight was already stored once.
    """
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    inits = [
        t for t in graph.initializer if t.data_location != TensorProto.EXTERNAL and _numel(t) >= MIN_ELEMENTS
    ]
    groups: dict[tuple[int, int], list[Any]] = {}
    for t in inits:
        groups.setdefault((t.data_type, _numel(t)), []).append(t)
    shared: list[SharedWeight] = []
    for members in groups.values():
        if len(members) < 2:
            continue
        seen: dict[tuple[tuple[int, ...], str], Any] = {}  # (shape, hash of values) → kept initializer
        for t in members:
            arr = numpy_helper.to_array(t)
            key = (arr.shape, _digest(arr))
            found = _match(seen, key, arr, np, numpy_helper)
            if found is None:
                seen[key] = t
                continue
            kept, how = found
            shared.append(SharedWeight(t.name, kept.name, how, round(arr.nbytes / 1e6, 2)))
    if not shared:
        return []
    dropped = {s.dropped for s in shared}
    renames = {s.dropped: s.kept for s in shared if s.how == "same"}
    for i in reversed(range(len(graph.initializer))):  # by index: no message comparisons of large tensors
        if graph.initializer[i].name in dropped:
            del graph.initializer[i]
    for i in reversed(range(len(graph.input))):  # old IR versions list initializers as inputs too
        if graph.input[i].name in dropped:
            del graph.input[i]
    _rename_inputs(graph, renames)
    for s in (s for s in shared if s.how == "transposed"):
        node = helper.make_node(
            "Transpose", [s.kept], [s.dropped], name=s.dropped + SHARED_SUFFIX, perm=[1, 0]
        )
        graph.node.insert(0, node)  # initializers are available first: topological order holds
    for s in shared:
        log.info("weight %s stored once: %s now reads it (%s, %.1f MB saved)", s.kept, s.dropped, s.how, s.mb)
    return shared


def unshare_transposed(model: Any) -> int:
    """Undo the ``Transpose`` nodes `dedup_initializers` added: their outputs become initializers again.

    For tools that need a weight as an initializer of its consumer (``onnxruntime.quantization`` quantizes a
    MatMul only when its weight is one): call it on the loaded model before quantizing. Edits in place.

    Returns:
        How many weights were made separate again.
    """
    import numpy as np
    from onnx import numpy_helper

    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    undone = 0
    for i in reversed(range(len(graph.node))):
        node = graph.node[i]
        if node.op_type != "Transpose" or not node.name.endswith(SHARED_SUFFIX) or node.input[0] not in inits:
            continue
        flipped = np.ascontiguousarray(numpy_helper.to_array(inits[node.input[0]]).T)
        graph.initializer.append(numpy_helper.from_array(flipped, node.output[0]))
        del graph.node[i]
        undone += 1
    return undone


def dedup_file(path: Path) -> list[SharedWeight]:
    """`dedup_initializers` on the ONNX file at `path`, rewritten in place only when something was shared."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    if any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer):
        log.debug("%s keeps its weights in external data: not deduplicated", path)
        return []
    shared = dedup_initializers(model)
    if shared:
        onnx.save(model, str(path))
    return shared


def _numel(t: Any) -> int:
    n = 1
    for d in t.dims:
        n *= int(d)
    return n


def _digest(arr: Any) -> str:
    return hashlib.blake2b(arr.tobytes(), digest_size=16).hexdigest()


def _match(
    seen: dict[tuple[tuple[int, ...], str], Any], key: tuple[tuple[int, ...], str], arr: Any, np: Any, nh: Any
) -> tuple[Any, str] | None:
    """(kept initializer, ``same``|``transposed``) when `arr` (hashed as `key`) repeats one in `seen`."""
    kept = seen.get(key)
    if kept is not None and np.array_equal(nh.to_array(kept), arr):
        return kept, "same"
    if arr.ndim == 2:
        flipped = np.ascontiguousarray(arr.T)
        kept = seen.get((flipped.shape, _digest(flipped)))
        if kept is not None and np.array_equal(nh.to_array(kept), flipped):
            return kept, "transposed"
    return None


def _rename_inputs(graph: Any, renames: dict[str, str]) -> None:
    """Point every node input (subgraphs included) named in `renames` at its new name."""
    if not renames:
        return
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name in renames:
                node.input[i] = renames[name]
        for attr in node.attribute:
            for sub in [attr.g] if attr.HasField("g") else []:
                _rename_inputs(sub, renames)
            for sub in attr.graphs:
                _rename_inputs(sub, renames)
    for out in graph.output:
        if out.name in renames:  # a graph output must keep its name: give it an Identity of the kept weight
            from onnx import helper

            graph.node.append(helper.make_node("Identity", [renames[out.name]], [out.name]))
