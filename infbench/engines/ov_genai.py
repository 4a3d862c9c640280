"""OpenVINO GenAI engine: `openvino_genai.LLMPipeline` generating greedily from token ids (``--task generate``).

The model is exported once to an OpenVINO IR with its KV cache and its tokenizer converted by
openvino-tokenizers (`engines._genexport`, cached). Prompts go in as token ids (`openvino_genai.TokenizedInputs`),
so every engine decodes the same prompt; exactly ``new_tokens`` tokens come out (``min_new_tokens`` =
``max_new_tokens``, ``ignore_eos``). Per-token stamps (option ``token_clock``):

- ``genai``: GenAI's own per-step token times (``raw_metrics.m_new_token_times``, taken when each token is
  sampled, on steady_clock = CLOCK_MONOTONIC, the clock of ``perf_counter_ns`` on Linux). Like torch's
  `TokenClock`, which runs inside the decoding loop, they mark when a token exists.
- ``streamer``: a `StreamerBase` callback stamps each token with ``perf_counter_ns`` when Python receives it —
  what a streaming user sees. GenAI calls it from its own streamer thread: the hand-off adds ~30 µs per token on
  an idle machine and milliseconds when that thread waits for a core (measured on the loaded 2-core VM), so it
  is not the default. GenAI streams batch 1 only.

``auto`` (default) is ``genai`` on Linux, else ``streamer``; the details say which ran.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from infbench.engines._tokenclock import TokenClock
from infbench.engines.base import Engine, EngineLoadError, LoadResult, ModelFiles
from infbench.engines.info import EngineInfo
from infbench.engines.openvino import PRECISION, THREADS
from infbench.engines.options import Option, OptionSchema

log = logging.getLogger(__name__)

OPTIONS = OptionSchema(
    (
        Option(
            "device",
            "choice",
            "OpenVINO device",
            choices=("CPU", "GPU", "NPU"),
            default="CPU",
            normalise=str.upper,
            pattern=r"(GPU|NPU)\.[0-9]+",
            pattern_help="GPU.N",
        ),
        THREADS,
        PRECISION,
        Option(
            "kv_cache",
            "choice",
            "KV_CACHE_PRECISION: auto follows precision (f32 by default), as OpenVINO's CPU default is a u8 "
            "(quantized) cache; default leaves the device's",
            choices=("auto", "f32", "bf16", "f16", "u8", "default"),
            default="auto",
        ),
        Option(
            "attention",
            "choice",
            "GenAI's backend: pa (continuous batching with paged attention, GenAI's default) or sdpa (stateful)",
            choices=("pa", "sdpa"),
            default="pa",
        ),
        Option(
            "token_clock",
            "choice",
            "per-token stamps: genai (GenAI's own token times, Linux), streamer (a callback per token as Python "
            "receives it, batch 1 only; adds GenAI's thread hand-off) or auto (genai on Linux, else streamer)",
            choices=("auto", "streamer", "genai"),
            default="auto",
        ),
    )
)
_PRECISION_HINT = {"f32": "f32", "bf16": "bf16", "f16": "f16"}


@dataclass
class GenAIInputs:
    """One prompt batch as GenAI takes it, with the numpy arrays its tensors share kept alive."""

    inputs: Any
    arrays: tuple[np.ndarray, np.ndarray]


class OvGenAIEngine(Engine):
    """`openvino_genai.LLMPipeline` on the model's GenAI export; options in `OPTIONS`; generate only."""

    info = EngineInfo(
        name="ov-genai",
        description="OpenVINO GenAI LLMPipeline: greedy generation from token ids (--task generate only)",
        aliases=("openvino-genai", "genai"),
        requires=("openvino_genai", "openvino_tokenizers", "optimum.intel", "torch", "transformers"),
        pip={
            "openvino_genai": "openvino-genai",
            "openvino_tokenizers": "openvino-tokenizers",
            "optimum.intel": "optimum-intel",
        },
        needs="hf",
        tasks=("causal-lm",),
        devices=("CPU", "GPU", "NPU"),
        options=OPTIONS,
        parity_priority=5,
        thread_option="threads",
        device_option="device",
        generates=True,
        prefills=False,  # LLMPipeline only generates
        default_for=(),  # run when named: its first use exports the model
    )

    @classmethod
    def import_backend(cls) -> None:
        """Import openvino_genai (and openvino)."""
        import openvino  # noqa: F401
        import openvino_genai  # noqa: F401

    def load(self, model: ModelFiles, options: dict[str, Any]) -> LoadResult:
        """Export (or find cached) the GenAI folder, build the pipeline and measure one generation's RSS growth."""
        import openvino as ov
        import openvino_genai as og

        from infbench.engines import _genexport, _genmem

        wl = self.workload
        if wl.get("task") != "generate":
            raise EngineLoadError(
                "ov-genai only generates: run it with --task generate (LLMPipeline has no single forward pass)"
            )
        self._ov, self._og = ov, og
        batch = int(wl.get("batch", 1))
        new_tokens = int(wl.get("new_tokens", 32))
        clock = str(options.get("token_clock", "auto"))
        linux = sys.platform.startswith("linux")
        if clock == "auto":
            clock = "genai" if linux else "streamer"
        if clock == "streamer" and batch != 1:
            raise EngineLoadError(
                f"ov-genai token_clock=streamer needs --batch 1 (GenAI streams one sequence only; got {batch}): "
                "use token_clock=genai or auto"
            )
        if clock == "genai" and not linux:
            raise EngineLoadError(
                "ov-genai token_clock=genai needs Linux (GenAI's steady_clock is perf_counter_ns's clock there): "
                "use --batch 1 with token_clock=streamer"
            )
        self.streaming = clock == "streamer"
        self.mark_phase("read")  # HF directory → the cached GenAI folder (exported on first use)
        folder = _genexport.ov_genai_dir(model)
        device = str(options.get("device", "CPU"))
        config: dict[str, Any] = {"ATTENTION_BACKEND": str(options.get("attention", "pa")).upper()}
        precision = str(options.get("precision", "f32"))
        if precision in _PRECISION_HINT:
            config["INFERENCE_PRECISION_HINT"] = _PRECISION_HINT[precision]
        if "threads" in options:
            config["INFERENCE_NUM_THREADS"] = int(options["threads"])
        kv_cache = str(options.get("kv_cache", "auto"))
        if kv_cache == "auto":
            kv_cache = precision if precision in _PRECISION_HINT else "default"
        if kv_cache != "default":
            config["KV_CACHE_PRECISION"] = kv_cache
        self.mark_phase("compile")
        try:
            self.pipe = og.LLMPipeline(str(folder), device, **config)
        except Exception as exc:  # GenAI raises RuntimeError with long messages
            raise EngineLoadError(
                f"OpenVINO GenAI cannot load {folder} on {device}: {_first_line(exc)}"
            ) from exc
        gen = og.GenerationConfig()
        gen.max_new_tokens = new_tokens
        gen.min_new_tokens = new_tokens
        gen.ignore_eos = True
        gen.do_sample = False
        self.gen_config = gen
        self.clock = TokenClock(skip_prompt=False)
        self.streamer = _make_streamer(og, self.clock) if self.streaming else None
        self.last: Any = None
        core = ov.Core()
        if precision == "default":
            precision = _type_name(core.get_property(device.split(".")[0], "INFERENCE_PRECISION_HINT"))
        if kv_cache == "default":
            kv_cache = _type_name(core.get_property(device.split(".")[0], "KV_CACHE_PRECISION"))
        details: dict[str, Any] = {
            "precision": precision,
            "threads": options.get("threads"),
            "kv_cache_precision": kv_cache,
            "quant": "kv-u8" if kv_cache == "u8" else "none",
            "attention": str(options.get("attention", "pa")),
            "token_clock": clock,
            "genai_dir": str(folder),
            "model_file_mb": round((folder / "openvino_model.bin").stat().st_size / 1e6, 3),
            "new_tokens": new_tokens,
        }
        if self.workload_inputs:  # one generation of the workload's first prompt: the KV cache's RSS growth
            rows, prompt = self.workload_inputs[0]["input_ids"].shape
            details["kv_cache_f32_mb"] = _genmem.kv_cache_mb(str(model.hf_dir), rows, prompt + new_tokens)
            first = self.prepare_inputs(self.workload_inputs[0])
            one = og.GenerationConfig()
            one.max_new_tokens = one.min_new_tokens = 1
            one.ignore_eos, one.do_sample = True, False
            _, mem = _genmem.rss_growth_mb(
                lambda: self.run(first), lambda: self.pipe.generate(first.inputs, one)
            )
            self.take_tokens()
            details.update(mem)
        versions = {"openvino": ov.get_version(), "openvino_genai": str(og.__version__)}
        return LoadResult(providers=[device], versions=versions, details=details)

    def prepare_inputs(self, inputs: dict[str, np.ndarray]) -> GenAIInputs:
        """Token ids and mask → `TokenizedInputs` over numpy-owned copies (once, outside the timed loop)."""
        ids = np.array(inputs["input_ids"], dtype=np.int64, copy=True, order="C")
        mask_in = inputs.get("attention_mask")
        mask = (
            np.ones_like(ids) if mask_in is None else np.array(mask_in, dtype=np.int64, copy=True, order="C")
        )
        tokenized = self._og.TokenizedInputs(self._ov.Tensor(ids), self._ov.Tensor(mask))
        return GenAIInputs(tokenized, (ids, mask))

    def run(self, prepared: GenAIInputs) -> Any:
        """One greedy generation of ``new_tokens`` tokens per sequence; each token stamped (see module doc)."""
        if self.streamer is not None:
            self.last = self.pipe.generate(prepared.inputs, self.gen_config, streamer=self.streamer)
        else:
            self.last = self.pipe.generate(prepared.inputs, self.gen_config)
        return self.last

    def emits_tokens(self) -> bool:
        """Always: this engine only generates."""
        return True

    def take_tokens(self) -> np.ndarray:
        """The last call's per-step stamps (perf_counter_ns): the streamer's, or GenAI's own token times."""
        if self.streaming:
            return self.clock.take()
        if self.last is None:
            return np.empty(0, np.int64)
        stamps = self.library_token_times(self.last)
        self.last = None
        return stamps

    @staticmethod
    def library_token_times(result: Any) -> np.ndarray:
        """GenAI's own per-step token times of one call's result, as perf_counter_ns (int64; Linux)."""
        times_ms = np.array(list(result.perf_metrics.raw_metrics.m_new_token_times), dtype=np.float64)
        return np.round(times_ms * 1e6).astype(np.int64)

    def library_metrics(self, result: Any) -> dict[str, float]:
        """GenAI's own `PerfMetrics` of one call's result: ``ttft_ms``, ``tpot_ms``, ``generate_ms``, tokens."""
        pm = result.perf_metrics
        return {
            "ttft_ms": float(pm.get_ttft().mean),
            "tpot_ms": float(pm.get_tpot().mean),
            "generate_ms": float(pm.get_generate_duration().mean),
            "tokens": float(pm.get_num_generated_tokens()),
        }

    def first_output(self, result: Any) -> np.ndarray:
        """The generated token ids, [batch, new_tokens], as float32 (parity is token agreement)."""
        return np.array(result.tokens, dtype=np.float32)

    def close(self) -> None:
        """Drop the pipeline."""
        self.pipe = None
        self.last = None


def _make_streamer(og: Any, clock: TokenClock) -> Any:
    """A GenAI `StreamerBase` that stamps every token it is handed and never stops the generation."""
    running = og.StreamingStatus.RUNNING

    class StampingStreamer(og.StreamerBase):
        """Stamps each token (GenAI calls `write` once per generated token at batch 1)."""

        def write(self, token: Any) -> Any:
            clock.stamp()
            return running

        def end(self) -> None:
            return None

    return StampingStreamer()


def _type_name(value: Any) -> str:
    text = str(getattr(value, "to_string", lambda: value)())
    return {"float32": "f32", "bfloat16": "bf16", "float16": "f16", "uint8_t": "u8"}.get(text, text)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else type(exc).__name__
