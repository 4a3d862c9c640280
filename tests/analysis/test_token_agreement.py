"""Parity of generating variants: greedy token agreement vs the reference, judged against --min-agreement."""

from __future__ import annotations

import numpy as np

from infbench.analysis.accuracy import TOKENS, judge_outputs, token_agreement
from infbench.analysis.report_model import Parity, VariantResult
from infbench.vocab import Verdict


def test_token_agreement_position_by_position_and_missing_positions_disagree() -> None:
    ref = np.array([[5, 6, 7, 8], [1, 2, 3, 4]], dtype=np.float32)
    assert token_agreement(ref.copy(), ref) == 1.0
    out = ref.copy()
    out[1, 2:] = [9, 9]  # diverged after two tokens
    assert token_agreement(out, ref) == 6 / 8
    assert token_agreement(out[:, :3], ref) == 5 / 8  # stopped early: the missing position disagrees
    assert token_agreement(ref[:1], ref) is None  # another batch: not comparable


def test_a_generating_variant_is_judged_by_tokens_not_by_max_abs() -> None:
    ref = np.array([[50000, 7, 7, 7, 7, 7, 7, 7, 7, 7]], dtype=np.float32)
    out = ref.copy()
    out[0, 9] = 3  # 90 % agree; max abs diff 4 would fail any --parity-tol
    ok = judge_outputs(out, ref, "torch", tolerance=1e-3, min_agreement=90.0, task="generate")
    assert ok.rule == TOKENS and ok.agreement == 0.9 and not ok.reasons and ok.max_abs is None
    bad = judge_outputs(out, ref, "torch", tolerance=1e-3, min_agreement=95.0, task="generate")
    assert bad.reasons and "token agreement 90.0 % < --min-agreement 95 % vs torch" in bad.reasons[0]
    # the same arrays as a prefill output: max abs rule, as before
    plain = judge_outputs(out, ref, "torch", tolerance=1e-3, min_agreement=90.0)
    assert plain.rule == "tolerance" and plain.reasons


def test_token_agreement_is_the_registered_value_of_a_tokens_parity() -> None:
    acc = judge_outputs(
        np.ones((1, 4)), np.ones((1, 4)), "torch", tolerance=0, min_agreement=90, task="generate"
    )
    r = VariantResult("ov", "openvino", Verdict.OK, parity=Parity.from_dict(acc.to_dict()))
    assert r.value("token_agreement") == 1.0
    label_rule = VariantResult(
        "x", "x", Verdict.OK, parity=Parity(reference="torch", agreement=0.5, rule="agreement")
    )
    assert label_rule.value("token_agreement") is None
