"""The `null` engine: a no-op control that measures the harness itself (timer + loop + call overhead).

A no-op call takes well under a microsecond, so null makes millions of calls per second. Recording every one
costs memory, disk and analysis time out of all proportion to what a control tells, so by default the
recording keeps a uniform random sample of `DEFAULT_KEEP_PER_S` calls per measured second (see `thin_block`;
applied by `infbench.run.recorded_run`): its percentiles are those of every call up to sampling noise, and the
recorded turns keep the exact number of calls. Option ``keep=all`` records every call, ``keep=N`` N per second.
The engine declares the ``control`` role: the recording thins the samples of controls that have ``keep``
(`infbench.run.recorded_run`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from infbench.engines.base import Engine, LoadResult, ModelFiles
from infbench.engines.info import EngineInfo
from infbench.engines.options import Option, OptionSchema
from infbench.records import SampleBlock
from infbench.vocab import Role

DEFAULT_KEEP_PER_S = 10_000
KEEP = Option(
    "keep",
    "choice",
    "calls recorded per measured second (a uniform sample; the call count stays exact), or all",
    choices=("all",),
    default=str(DEFAULT_KEEP_PER_S),
    pattern=r"[1-9][0-9]{0,11}",
    pattern_help="N",
    type_help="all | N (calls per second)",
)


def keep_rate(options: dict[str, Any]) -> float | None:
    """Calls to keep per measured second from null's options; None to keep every call (``keep=all``)."""
    keep = KEEP.parse(options.get("keep", KEEP.default))
    if keep == "all":
        return None
    return float(keep)


def thin_block(block: SampleBlock, per_s: float, rng: np.random.Generator) -> SampleBlock:
    """A uniform random sample of `block`'s calls, about `per_s` per second of the block's span, in time order.

    A block with no more calls than that is returned as it is; at least one call is always kept.
    """
    n = len(block)
    if n <= 1:
        return block
    span_s = float(block.start_ns[-1] + block.dur_ns[-1] - block.start_ns[0]) / 1e9
    want = max(1, math.ceil(span_s * per_s))
    if want >= n:
        return block
    keep = np.sort(rng.choice(n, size=want, replace=False))
    idx = None if block.input_idx is None else block.input_idx[keep]
    return SampleBlock(block.backend, block.phase, block.start_ns[keep], block.dur_ns[keep], idx)


class NullEngine(Engine):
    """Does nothing per call; its latency distribution is the floor every other backend sits on."""

    info = EngineInfo(
        name="null",
        description="no-op control engine: measures the harness itself",
        aliases=("noop",),
        needs="none",
        options=OptionSchema((KEEP,)),
        roles=(Role.CONTROL.value,),
        parity_priority=-1,
    )

    def load(self, model: ModelFiles, options: dict[str, Any]) -> LoadResult:
        """Nothing to load (``keep`` is read by the recording, not here)."""
        self._out = np.zeros(1, dtype=np.float32)
        return LoadResult(providers=["none"], versions={"numpy": np.__version__})

    def run(self, prepared: Any) -> Any:
        """Return immediately."""
        return None

    def first_output(self, result: Any) -> np.ndarray:
        """A constant (null has no outputs; parity is not checked for it)."""
        return self._out
