"""The transformers ``pipeline(task)`` end to end on texts: tokenization, inference and post-processing, timed
per call and split into those three stages (call parts ``tokenize``, ``infer``, ``post``).

One call is ``pipe(texts, batch_size=batch)`` on the `batch` corpus texts of one input of the run's cycle — the
same texts, in the same order, the token-id engines get as ids (`corpus_batches`), so a pipeline variant and an
eager one run the same work. The model behind the pipeline is a transformers model on PyTorch
(``runtime=torch``) or an Optimum wrapper (``runtime=optimum-ort|optimum-ov``, loaded by those engines' own
`load`, so the export cache and the compile settings are theirs). The stage split comes from timers around the
pipeline instance's ``preprocess``, ``_forward`` and ``postprocess`` (sums of ns per call); what is left of the
call (batch collation, the pipeline's iteration) is neither of them.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from infbench.engines.base import Engine, EngineLoadError, LoadResult, ModelFiles
from infbench.engines.info import EngineInfo
from infbench.engines.options import Option, OptionSchema

log = logging.getLogger(__name__)

NEEDS_CORPUS = "pipeline takes text: add --corpus builtin or --corpus FILE"
PARTS = ("tokenize", "infer", "post")
# model task → the pipeline task that runs it
PIPELINE_TASKS = {
    "token-classification": "token-classification",
    "sequence-classification": "text-classification",
    "feature-extraction": "feature-extraction",
}
RUNTIMES = ("torch", "optimum-ort", "optimum-ov")

OPTIONS = OptionSchema(
    (
        Option(
            "runtime",
            "choice",
            "the model behind the pipeline: transformers on PyTorch, or the Optimum wrapper for ONNX Runtime / "
            "OpenVINO",
            choices=RUNTIMES,
            default="torch",
            requires={"optimum-ort": ("optimum.onnxruntime",), "optimum-ov": ("optimum.intel",)},
        ),
        Option("threads", "int", "intra-op threads of the runtime (unset: its default)", minimum=1),
        Option(
            "precision",
            "choice",
            "OpenVINO inference precision (f32 unless asked); only with runtime=optimum-ov",
            choices=("f32", "bf16", "f16"),
            only_with={"runtime": "optimum-ov"},
        ),
    )
)


def corpus_batches(workload: Mapping[str, Any]) -> list[list[str]]:
    """The texts of each input of a corpus workload, in the order `engines.workloads.corpus_rows` builds the
    token ids: input i holds texts ``(i * batch + j) mod n`` for j < batch (the last input wraps to the first
    texts), ceil(n / batch) inputs.

    Raises:
        EngineLoadError: the workload has no corpus.
    """
    from infbench.engines.corpus import BUILTIN, builtin_corpus_file, load_corpus

    corpus = workload.get("corpus")
    if not corpus:
        raise EngineLoadError(NEEDS_CORPUS)
    if corpus == BUILTIN:
        texts = load_corpus(builtin_corpus_file())
    else:
        texts = load_corpus(str(corpus), workload.get("corpus_column"))
    batch = max(1, int(workload.get("batch") or 1))
    n_items = -(-len(texts) // batch)
    return [[texts[(i * batch + j) % len(texts)] for j in range(batch)] for i in range(n_items)]


def _tokenizer(model: ModelFiles, max_length: int) -> Any:
    """The model's own tokenizer (local files only), or the built-in tokenizer of a built-in model, cutting
    texts at `max_length` tokens as the token-id inputs are."""
    from transformers import AutoTokenizer

    if model.has_tokenizer and model.hf_dir:
        where = model.hf_dir
    elif model.kind == "builtin":
        from infbench.engines.corpus import builtin_tokenizer_for

        where = str(builtin_tokenizer_for(model.name))
    else:
        raise EngineLoadError(
            f"pipeline needs a tokenizer and {model.name} has none: use a built-in model or a "
            "Hugging Face directory with tokenizer files"
        )
    try:
        tok = AutoTokenizer.from_pretrained(where, local_files_only=True, trust_remote_code=False)
    except Exception as exc:  # transformers raises OSError/ValueError/… for unusable tokenizer files
        raise EngineLoadError(f"pipeline cannot load the tokenizer in {where}: {_first_line(exc)}") from exc
    tok.model_max_length = max_length
    return tok


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else type(exc).__name__


class _StageClock:
    """Sums the ns spent in each wrapped pipeline stage since the last `take`."""

    def __init__(self) -> None:
        self.ns = [0, 0, 0]

    def wrap(self, fn: Callable[..., Any], slot: int) -> Callable[..., Any]:
        """`fn` timed into `slot`; a generator's items are produced inside the timer (ChunkPipeline's
        ``preprocess`` yields its chunks)."""
        pc = time.perf_counter_ns
        ns = self.ns

        def timed(*args: Any, **kwargs: Any) -> Any:
            t = pc()
            try:
                out = fn(*args, **kwargs)
                if inspect.isgenerator(out):
                    out = iter(list(out))
                return out
            finally:
                ns[slot] += pc() - t

        return timed

    def take(self) -> tuple[int, int, int]:
        """The sums since the last call, and reset."""
        out = (self.ns[0], self.ns[1], self.ns[2])
        self.ns[0] = self.ns[1] = self.ns[2] = 0
        return out


class PipelineEngine(Engine):
    """``transformers.pipeline(task)`` on the workload's texts, its model on PyTorch or an Optimum wrapper."""

    info = EngineInfo(
        name="pipeline",
        description="transformers pipeline(task) end to end on texts (tokenize, infer, post-process), "
        "on PyTorch or an Optimum model",
        aliases=("hf-pipeline",),
        requires=("torch", "transformers"),
        needs="hf",
        tasks=tuple(PIPELINE_TASKS),
        devices=("cpu",),
        options=OPTIONS,
        parity_priority=3,  # below every engine that calls the model directly
        thread_option="threads",
        takes_text=True,
        default_for=(),  # a deployment variant: run when asked for by name
    )

    @classmethod
    def import_backend(cls) -> None:
        """Import torch and transformers' pipelines."""
        import torch  # noqa: F401
        import transformers.pipelines  # noqa: F401

    def load(self, model: ModelFiles, options: dict[str, Any]) -> LoadResult:
        """Load the tokenizer and the model (for the runtime asked), build the pipeline and wrap its stages."""
        import transformers

        if not self.workload.get("corpus"):
            raise EngineLoadError(NEEDS_CORPUS)
        if self.workload.get("padding", "longest") != "longest":
            raise EngineLoadError(
                "pipeline pads each batch to its longest text (its own collation): use --padding longest"
            )
        task = PIPELINE_TASKS.get(model.task)
        if task is None:
            raise EngineLoadError(
                f"pipeline runs {', '.join(PIPELINE_TASKS)} models and {model.name} is {model.task}"
            )
        if not model.hf_dir:
            raise EngineLoadError(
                f"pipeline needs a Hugging Face model directory and model {model.name} has none"
            )
        from infbench.engines._optimum import refuse_remote_code

        refuse_remote_code(model.hf_dir, self.info.name)
        self.batch = max(1, int(self.workload.get("batch") or 1))
        tok = _tokenizer(model, int(self.workload.get("seq") or 128))
        runtime = str(options.get("runtime", "torch"))
        if runtime == "torch":
            net, details, versions = self._torch_model(model, options)
        else:
            net, details, versions = self._optimum_model(model, runtime, options)
        self.mark_phase("compile")  # the pipeline object around the model
        build: Any = transformers.pipeline  # typed per literal task; ours is a runtime value
        try:
            self.pipe = build(task, model=net, tokenizer=tok, framework="pt")
        except Exception as exc:  # transformers raises many types for a model it cannot wrap
            raise EngineLoadError(f"transformers cannot build a {task} pipeline: {_first_line(exc)}") from exc
        self.clock = _StageClock()
        self.pipe.preprocess = self.clock.wrap(self.pipe.preprocess, 0)
        self.pipe._forward = self._capturing(self.clock.wrap(self.pipe._forward, 1))
        self.pipe.postprocess = self.clock.wrap(self.pipe.postprocess, 2)
        self._capture = True  # the first call's first forward output is kept for output parity
        self._captured: Any = None
        details.update(
            {
                "runtime": runtime,
                "wrapper": f"transformers {transformers.__version__} {type(self.pipe).__name__}",
                "pipeline_task": task,
                "batch_size": self.batch,
                "io": "texts",
                "tokenizer": type(tok).__name__,
            }
        )
        return LoadResult(providers=["cpu"], versions=versions, details=details)

    def _torch_model(self, model: ModelFiles, options: dict[str, Any]) -> tuple[Any, dict[str, Any], dict]:
        import torch
        import transformers

        from infbench.engines._modelcache import load_hf_model
        from infbench.engines.torch import _weights_mb

        if "threads" in options:
            torch.set_num_threads(int(options["threads"]))
        self.mark_phase("read")
        try:
            net = load_hf_model(str(model.hf_dir), model.task)
        except Exception as exc:  # transformers raises OSError/ValueError/… for unusable directories
            raise EngineLoadError(f"transformers cannot load {model.hf_dir}: {_first_line(exc)}") from exc
        dtype = str(next(net.parameters()).dtype).removeprefix("torch.")
        details = {
            "threads": torch.get_num_threads(),
            "precision": {"float32": "f32", "bfloat16": "bf16", "float16": "f16"}.get(dtype, dtype),
            "model_file_mb": _weights_mb(str(model.hf_dir)),
            "model_class": type(net).__name__,
        }
        return net, details, {"torch": torch.__version__, "transformers": transformers.__version__}

    def _optimum_model(
        self, model: ModelFiles, runtime: str, options: dict[str, Any]
    ) -> tuple[Any, dict[str, Any], dict]:
        """The Optimum wrapper, loaded by that engine's own `load` (its export cache, its settings)."""
        from infbench.engines.registry import engine_info, load_engine_class

        inner_cls = load_engine_class(runtime)
        inner_cls.import_backend()
        inner = inner_cls()
        inner.phase_hook = self.phase_hook
        inner.workload = {**self.workload, "task": "prefill"}
        inner.workload_inputs = self.workload_inputs
        given = {k: options[k] for k in ("threads", "precision") if k in options}
        res = inner.load(model, engine_info(runtime).options.resolve(runtime, given))
        net = getattr(inner, "model", None)
        if net is None:
            raise EngineLoadError(f"pipeline: the {runtime} engine loaded no model to wrap")
        self._inner = inner
        keep = ("threads", "precision", "model_file_mb", "export_cache", "io_binding", "default_precision")
        details = {k: res.details[k] for k in keep if k in res.details}
        details["model_class"] = type(net).__name__
        details["optimum"] = res.details.get("wrapper")
        return net, details, dict(res.versions)

    def _capturing(self, forward: Callable[..., Any]) -> Callable[..., Any]:
        """`forward` that keeps its output while `_capture` is set (the first call's first batch)."""

        def call(*args: Any, **kwargs: Any) -> Any:
            out = forward(*args, **kwargs)
            if self._capture and self._captured is None:
                self._captured = out
            return out

        return call

    def prepare_all(self, inputs: list[dict[str, np.ndarray]]) -> list[Any]:
        """Input i of the cycle → its batch of texts (`corpus_batches`), checked against the token inputs."""
        batches = corpus_batches(self.workload)
        if len(batches) != len(inputs):
            raise ValueError(
                f"the corpus gives {len(batches)} batches of texts and the run has {len(inputs)} inputs"
            )
        return batches

    def run(self, prepared: list[str]) -> Any:
        """One pipeline call on one batch of texts."""
        return self.pipe(prepared, batch_size=self.batch)

    def call_parts(self) -> tuple[str, ...]:
        """tokenize, infer, post."""
        return PARTS

    def take_parts(self) -> tuple[int, ...]:
        """ns in ``preprocess``, ``_forward`` and ``postprocess`` during the last call."""
        return self.clock.take()

    def first_output(self, result: Any) -> np.ndarray:
        """The logits (hidden states of a feature extractor) of the first call's first batch, as float32."""
        out, self._captured, self._capture = self._captured, None, False
        tensor = None
        if isinstance(out, Mapping):
            tensor = out.get("logits", out.get("last_hidden_state"))
        elif isinstance(out, (tuple, list)) and out:
            tensor = out[0]
        if tensor is None:
            raise ValueError("the pipeline's forward pass returned no logits to compare")
        if hasattr(tensor, "detach"):
            tensor = tensor.detach().float().cpu().numpy()
        return np.asarray(tensor, dtype=np.float32)

    def close(self) -> None:
        """Drop the pipeline (and the Optimum engine behind it)."""
        self.pipe = None
        inner = getattr(self, "_inner", None)
        if inner is not None:
            inner.close()
