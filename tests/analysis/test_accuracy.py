"""Accuracy vs the reference: label agreement on known arrays, which rule judges a variant, the reason lines."""

from __future__ import annotations

import numpy as np
import pytest

from infbench.analysis.accuracy import (
    AGREEMENT,
    TOLERANCE,
    changes_numerics,
    judge_outputs,
    label_agreement,
    normal_precision,
    precision_text,
)


def _logits(labels: list[list[int]], n_labels: int = 4) -> np.ndarray:
    """Token-classifier logits (batch, seq, labels) whose arg-max is `labels`, with a margin of 1."""
    out = np.zeros((len(labels), len(labels[0]), n_labels), dtype=np.float32)
    for b, row in enumerate(labels):
        for t, lab in enumerate(row):
            out[b, t, lab] = 1.0
    return out


def test_label_agreement_counts_positions_whose_argmax_agrees() -> None:
    ref = _logits([[0, 1, 2, 3, 0], [1, 1, 1, 1, 1]])
    out = _logits([[0, 1, 2, 0, 0], [1, 2, 1, 3, 1]])  # 3 of 10 positions disagree
    assert label_agreement(out, ref) == pytest.approx(0.7)
    assert label_agreement(ref, ref) == 1.0
    # a sequence classifier (batch, labels): one label per row
    assert label_agreement(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([[0.2, 0.7], [0.1, 0.3]])) == 0.5
    # no label axis to take an arg-max over, or shapes that differ: not computable
    assert label_agreement(np.ones((3, 1)), np.ones((3, 1))) is None
    assert label_agreement(np.float32(1.0) * np.ones(()), np.ones(())) is None
    assert label_agreement(np.ones((2, 3)), np.ones((3, 2))) is None


def test_precision_spellings_and_which_variants_change_the_numerics() -> None:
    assert [normal_precision(x) for x in ("FP32", "float32", "<Type: 'f32'>", "bf16", "bfloat16")] == [
        "f32",
        "f32",
        "f32",
        "bf16",
        "bf16",
    ]
    assert [normal_precision(x) for x in ("f16", "FP16", "int8", "u8", None, "")] == [
        "f16",
        "f16",
        "int8",
        "int8",
        None,
        None,
    ]
    assert normal_precision("tf32x") == "tf32x"  # an unknown spelling is kept, in lower case
    assert not changes_numerics({"precision": "f32", "quant": "none"})
    assert changes_numerics({"precision": "int8", "quant": "int8"})
    assert changes_numerics({"precision": "bf16"})
    assert changes_numerics({"precision": "f32", "quant": "int8-weights"})  # weights only: still changed
    # what the engine reported wins over what the options asked; options speak when it reported nothing
    assert not changes_numerics({"precision": "f32"}, {"precision": "bf16"})
    assert changes_numerics({}, {"quant": "int8"}) and not changes_numerics({}, {"threads": 1})
    assert precision_text({"precision": "int8", "quant": "int8"}) == "int8"
    assert precision_text({"precision": "f32", "quant": "int8-weights"}) == "f32 int8-weights"
    assert precision_text({}, {}) is None


def test_full_precision_is_judged_by_tolerance_and_changed_numerics_by_agreement() -> None:
    ref = _logits([[0, 1, 2, 3, 0, 1, 2, 3, 0, 1]])
    shifted = ref + 0.25  # every value off by 0.25, every label the same
    f32 = judge_outputs(shifted, ref, "torch", tolerance=1e-3, min_agreement=90, details={"precision": "f32"})
    assert f32.rule == TOLERANCE and f32.agreement == 1.0 and f32.max_abs == pytest.approx(0.25)
    assert f32.reasons == ("outputs differ from torch's: max abs diff 0.25 > tolerance 0.001",)
    int8 = {"precision": "int8", "quant": "int8"}
    ok = judge_outputs(shifted, ref, "torch", tolerance=1e-3, min_agreement=90, details=int8)
    assert ok.rule == AGREEMENT and ok.reasons == () and ok.precision == "int8"
    assert ok.to_dict() == {
        "max_abs": pytest.approx(0.25),
        "cosine": ok.cosine,
        "reference": "torch",
        "agreement": 1.0,
        "rule": "agreement",
        "precision": "int8",
    }
    flipped = _logits([[0, 1, 2, 3, 0, 1, 2, 3, 1, 0]])  # 2 of 10 labels flipped: 80 %
    low = judge_outputs(flipped, ref, "torch", tolerance=1e-3, min_agreement=90, details=int8)
    assert low.agreement == pytest.approx(0.8)
    assert low.reasons == (
        "label agreement 80.0 % < --min-agreement 90 % vs torch (int8: judged by agreement, not --parity-tol)",
    )
    assert judge_outputs(flipped, ref, "torch", tolerance=1e-3, min_agreement=80, details=int8).reasons == ()


def test_reason_never_rounds_up_to_the_floor_and_broken_outputs_are_caught() -> None:
    ref = _logits([[i % 4 for i in range(10_000)]])
    out = ref.copy()
    out[0, :3, :] = _logits([[1, 2, 3]])[0]  # 3 of 10,000 flipped: 99.97 %
    res = judge_outputs(out, ref, "r", tolerance=0.0, min_agreement=99.98, details={"precision": "bf16"})
    assert res.reasons[0].startswith("label agreement 99.97 % < --min-agreement 99.98 % vs r (bf16:")
    nan = ref.copy()
    nan[0, 0, 0] = np.nan
    broken = judge_outputs(nan, ref, "r", tolerance=1.0, min_agreement=0, details={"precision": "int8"})
    assert broken.reasons == ("outputs contain NaN or inf",)
    assert judge_outputs(nan, ref, "r", tolerance=1.0, min_agreement=0).reasons == (
        "outputs contain NaN or inf",
    )
    shape = judge_outputs(ref[:, :5], ref, "r", tolerance=1.0, min_agreement=0)
    assert shape.max_abs is None and shape.agreement is None
    assert shape.reasons == ("output shape (1, 5, 4) differs from r's (1, 10000, 4)",)
