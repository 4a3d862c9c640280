"""Accuracy of a variant's outputs against the reference variant's: max abs difference, cosine, label agreement,
and which rule judges it.

A full-precision variant should reproduce the reference up to rounding: it is judged by the max abs difference
(``--parity-tol``). A variant that changes the numerics on purpose (the engine reports a precision other than f32,
or a quantization: `LoadResult.details` keys ``precision`` and ``quant``) cannot meet such a tolerance; it is
judged by what a classification head cares about, the share of positions whose arg-max label agrees with the
reference's (``--min-agreement``). A generating variant (``--task generate``: its first output is the greedy
token ids) is judged by token agreement, the share of generated tokens equal to the reference's position by
position, against the same ``--min-agreement``. Pure functions over arrays; the runner stores
`Accuracy.to_dict()` as the variant's ``parity``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

TOLERANCE = "tolerance"  # judged by max abs difference (--parity-tol)
AGREEMENT = "agreement"  # judged by label agreement (--min-agreement)
TOKENS = "tokens"  # a generating variant: judged by greedy token agreement (--min-agreement)
TASK_GENERATE = "generate"
FULL_PRECISION = "f32"
_NO_QUANT = ("", "none", "false", "no", "off")

# spellings engines and libraries use for a precision (OpenVINO's element types, numpy/torch dtypes)
_PRECISIONS = (
    ("bf16", ("bf16", "bfloat16")),
    ("f16", ("f16", "fp16", "float16", "half")),
    ("f32", ("f32", "fp32", "float32", "float")),
    ("int8", ("int8", "i8", "u8", "qint8", "quint8")),
    ("int4", ("int4", "i4", "u4")),
    ("f64", ("f64", "fp64", "float64", "double")),
)


def normal_precision(value: Any) -> str | None:
    """A precision in the project's words (f32, bf16, f16, int8, …): ``FP32``, ``float32``, ``<Type: 'f32'>``
    → ``f32``; an unknown spelling is kept (lower case); None or empty → None."""
    if value is None:
        return None
    text = str(value).strip().lower()
    if not text:
        return None
    words = "".join(c if c.isalnum() else " " for c in text).split()
    for name, spellings in _PRECISIONS:
        if any(w in spellings for w in words):
            return name
    return text


def normal_quant(value: Any) -> str | None:
    """A quantization (``int8``, ``int8-weights``) or None for none/unset."""
    if value is None or str(value).strip().lower() in _NO_QUANT:
        return None
    return str(value).strip().lower()


def numerics_of(
    details: Mapping[str, Any] | None, options: Mapping[str, Any] | None = None
) -> tuple[str | None, str | None]:
    """(precision, quant) a variant ran with: what the engine reported (`details`), else what its options asked
    (a variant whose engine reports nothing); (None, None) when neither says."""
    details = details or {}
    options = options or {}
    if "precision" in details or "quant" in details:
        return normal_precision(details.get("precision")), normal_quant(details.get("quant"))
    return normal_precision(options.get("precision")), normal_quant(options.get("quant"))


def changes_numerics(details: Mapping[str, Any] | None, options: Mapping[str, Any] | None = None) -> bool:
    """Whether the variant computes with other numerics than the f32 reference on purpose: a precision other
    than f32, or a quantization (see `numerics_of`)."""
    precision, quant = numerics_of(details, options)
    return quant is not None or (precision is not None and precision != FULL_PRECISION)


def precision_text(details: Mapping[str, Any] | None, options: Mapping[str, Any] | None = None) -> str | None:
    """What ran, in a few characters: ``f32``, ``bf16``, ``int8``, ``f32 int8-weights`` (None when unknown)."""
    precision, quant = numerics_of(details, options)
    if quant is None or quant == precision:
        return precision
    return f"{precision} {quant}" if precision else quant


def output_parity(out: np.ndarray, ref: np.ndarray) -> tuple[float, float] | None:
    """(max abs difference, cosine similarity) of two outputs, or None when their shapes differ."""
    if out.shape != ref.shape:
        return None
    a, b = out.astype(np.float64).ravel(), ref.astype(np.float64).ravel()
    denom = float(np.linalg.norm(a) * np.linalg.norm(b))
    cos = float(a @ b / denom) if denom > 0 else float(np.array_equal(a, b))
    return float(np.max(np.abs(a - b))) if a.size else 0.0, cos


def label_agreement(out: np.ndarray, ref: np.ndarray) -> float | None:
    """Share (0–1) of positions whose arg-max over the last axis (the label) agrees with the reference's, over
    every other index (batch × sequence for a token classifier, batch for a sequence classifier).

    None when the shapes differ or there is no label axis to take an arg-max over (a scalar, or a last axis of
    fewer than 2 values).
    """
    if out.shape != ref.shape or out.ndim == 0 or out.shape[-1] < 2 or out.size == 0:
        return None
    return float(np.mean(np.argmax(out, axis=-1) == np.argmax(ref, axis=-1)))


def token_agreement(out: np.ndarray, ref: np.ndarray) -> float | None:
    """Share (0–1) of generated tokens equal to the reference's, position by position, per sequence.

    Token ids of shape ``[batch, tokens]`` (or ``[tokens]``), any numeric dtype; a sequence that stopped
    earlier than the other (end of text) counts its missing positions as disagreeing. None when the batch
    shapes differ or there is no token.
    """
    a = np.atleast_2d(np.asarray(out))
    b = np.atleast_2d(np.asarray(ref))
    if a.ndim != 2 or b.ndim != 2 or a.shape[0] != b.shape[0]:
        return None
    longest = max(a.shape[1], b.shape[1])
    if longest == 0 or a.shape[0] == 0:
        return None
    common = min(a.shape[1], b.shape[1])
    same = np.rint(a[:, :common].astype(np.float64)) == np.rint(b[:, :common].astype(np.float64))
    return float(same.sum()) / float(a.shape[0] * longest)


def _pct(fraction: float, floor_pct: float) -> str:
    """`fraction` in % with the decimals that keep it apart from `floor_pct` (never 99.0 % < 99 %)."""
    pct = 100.0 * fraction
    for digits in (1, 2, 3, 4):
        text = f"{pct:.{digits}f}"
        if (float(text) < floor_pct) == (pct < floor_pct) and float(text) != floor_pct:
            return text
    return f"{pct:.4f}"


@dataclass(frozen=True)
class Accuracy:
    """A variant's outputs against the reference's, and the verdict of the rule that applies.

    Attributes:
        reference: the reference variant's label.
        max_abs: largest absolute difference (None when the shapes differ).
        cosine: cosine similarity of the flattened outputs (None when the shapes differ).
        agreement: share of positions whose label agrees (None when not computable, see `label_agreement`).
        rule: ``tolerance`` (full precision: max abs vs --parity-tol) or ``agreement`` (changed numerics:
            label agreement vs --min-agreement).
        precision: what the variant ran with (`precision_text`), None when unknown.
        reasons: why it is degraded (empty when it passes).
    """

    reference: str
    max_abs: float | None
    cosine: float | None
    agreement: float | None
    rule: str
    precision: str | None = None
    reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The ``parity`` dict stored in the session (`BackendInfo.parity`)."""
        return {
            "max_abs": self.max_abs,
            "cosine": self.cosine,
            "reference": self.reference,
            "agreement": self.agreement,
            "rule": self.rule,
            "precision": self.precision,
        }


def judge_outputs(
    out: np.ndarray,
    ref: np.ndarray,
    reference: str,
    *,
    tolerance: float,
    min_agreement: float,
    details: Mapping[str, Any] | None = None,
    options: Mapping[str, Any] | None = None,
    task: str | None = None,
) -> Accuracy:
    """Compare `out` with the reference's output `ref` and judge it by the rule its numerics call for.

    Args:
        reference: the reference's label (named in the reasons).
        tolerance: --parity-tol, the max abs difference allowed a full-precision variant.
        min_agreement: --min-agreement in %, the label agreement required of a variant that changes the
            numerics (`changes_numerics` of its `details`, else its `options`), and the token agreement
            required of a generating variant.
        task: the workload's task; ``generate``: `out` and `ref` are generated token ids, judged by
            `token_agreement` whatever the numerics.
    """
    if task == TASK_GENERATE:
        return _judge_tokens(out, ref, reference, min_agreement, precision_text(details, options))
    rule = AGREEMENT if changes_numerics(details, options) else TOLERANCE
    precision = precision_text(details, options)
    result = output_parity(out, ref)
    if result is None:
        why = f"output shape {out.shape} differs from {reference}'s {ref.shape}"
        return Accuracy(reference, None, None, None, rule, precision, (why,))
    max_abs, cosine = result
    agreement = label_agreement(out, ref)
    reasons: list[str] = []
    if not bool(np.all(np.isfinite(out))):
        reasons.append("outputs contain NaN or inf")
    elif rule == TOLERANCE and not max_abs <= tolerance:
        reasons.append(
            f"outputs differ from {reference}'s: max abs diff {max_abs:.3g} > tolerance {tolerance:g}"
        )
    elif rule == AGREEMENT and agreement is not None and 100.0 * agreement < min_agreement:
        reasons.append(
            f"label agreement {_pct(agreement, min_agreement)} % < --min-agreement {min_agreement:g} % vs "
            f"{reference} ({precision or 'reduced precision'}: judged by agreement, not --parity-tol)"
        )
    elif rule == AGREEMENT and agreement is None:
        log.info(
            "output of shape %s has no label axis: a %s variant is not judged against %s",
            out.shape,
            precision or "reduced-precision",
            reference,
        )
    return Accuracy(reference, max_abs, cosine, agreement, rule, precision, tuple(reasons))


def _judge_tokens(
    out: np.ndarray, ref: np.ndarray, reference: str, min_agreement: float, precision: str | None
) -> Accuracy:
    """A generating variant's tokens against the reference's: token agreement vs --min-agreement."""
    agreement = token_agreement(out, ref)
    if agreement is None:
        why = (
            f"generated tokens of shape {np.shape(out)} cannot be compared with {reference}'s {np.shape(ref)}"
        )
        return Accuracy(reference, None, None, None, TOKENS, precision, (why,))
    reasons: tuple[str, ...] = ()
    if 100.0 * agreement < min_agreement:
        reasons = (
            f"token agreement {_pct(agreement, min_agreement)} % < --min-agreement {min_agreement:g} % vs "
            f"{reference} (greedy tokens, position by position)",
        )
    return Accuracy(reference, None, None, agreement, TOKENS, precision, reasons)
