"""``--task generate`` for the torch engine: greedy `model.generate` with a `TokenClock` streamer.

Exactly ``new_tokens`` tokens per sequence (``min_new_tokens = max_new_tokens``: the end-of-text token cannot
stop a row early), greedy (``do_sample=False``, one beam), KV cache on. Imported only in the torch engine's child.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from infbench.engines._tokenclock import TokenClock
from infbench.engines.base import EngineLoadError, ModelFiles

log = logging.getLogger(__name__)


@dataclass
class TorchGeneration:
    """What a generating torch engine keeps: the streamer clock and the tokens per call."""

    clock: TokenClock
    new_tokens: int

    def load_details(self, engine: Any, compiled: bool) -> dict[str, Any]:
        """Details of the generate mode; with the workload's inputs, a one-token warm-up then one full generation
        of the first prompt measure the RSS growth of the KV cache (`engines._genmem`): after the compile when
        compiled, so compiling is not counted."""
        from infbench.engines import _genmem

        details: dict[str, Any] = {
            "new_tokens": self.new_tokens,
            "token_clock": "TokenClock streamer",
            "generate": "compiled forward (torch.compile, dynamic=True)" if compiled else "eager",
        }
        if engine.workload_inputs:
            first = engine.workload_inputs[0]
            batch, prompt = first["input_ids"].shape
            details["kv_cache_f32_mb"] = _genmem.kv_cache_mb(engine.hf_dir, batch, prompt + self.new_tokens)
            prepared = engine.prepare_inputs(first)
            one = dict(prepared, max_new_tokens=1, min_new_tokens=1, streamer=None)

            def warm() -> Any:
                with engine._torch.inference_mode():
                    return engine.model.generate(**one)

            _, mem = _genmem.rss_growth_mb(lambda: engine.run(prepared), warm)
            details.update(mem)
        self.clock.take()  # drop the stamps of the load's generations (compile, memory): calls start clean
        return details


def setup(
    hf_model: Any, model: ModelFiles, workload: dict[str, Any]
) -> tuple[dict[str, Any], TorchGeneration]:
    """The keyword arguments every `generate` call gets (streamer included) and the generation state."""
    if model.task != "causal-lm":
        raise EngineLoadError(
            f"--task generate needs a causal language model and {model.name} is a {model.task} model: "
            "use gpt2-tiny, gpt2-small or a local *ForCausalLM directory"
        )
    new_tokens = int(workload.get("new_tokens", 32))
    clock = TokenClock(skip_prompt=True)
    gen_config = getattr(hf_model, "generation_config", None)
    pad: Any = getattr(gen_config, "pad_token_id", None)
    if pad is None:
        eos = getattr(gen_config, "eos_token_id", None)
        pad = eos[0] if isinstance(eos, list) and eos else eos
    kwargs: dict[str, Any] = {
        "max_new_tokens": new_tokens,
        "min_new_tokens": new_tokens,
        "do_sample": False,
        "num_beams": 1,
        "use_cache": True,
        "pad_token_id": 0 if pad is None else int(pad),
        "streamer": clock,
    }
    return kwargs, TorchGeneration(clock, new_tokens)
