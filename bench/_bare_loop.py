"""A bare timing loop of one backend's inference call in a plain Python process (the observer-effect baseline).

Started by observer_effect.py: ``_bare_loop.py BACKEND ONNX HF_DIR FEEDS.npz [THREADS]`` (THREADS: a count, 1 by
default, or ``default`` for the backend's own thread settings, ONNX Runtime only). Reads commands on stdin:
``run SECONDS OUT.npy`` runs the loop and saves the durations (ns), then prints ``done``; ``quit`` exits. Uses each
backend's own API directly, nothing of infbench.
"""

from __future__ import annotations

import sys
import time

import numpy as np


def build(backend: str, onnx_path: str, hf_dir: str, feeds: dict[str, np.ndarray], threads: int | None = 1):
    """Return a zero-argument callable doing one inference, with `threads` threads (None: ORT's defaults)."""
    if backend == "onnxruntime":
        import onnxruntime as ort

        so = ort.SessionOptions()
        if threads is not None:  # as `--threads N --inter-threads N`; None keeps ORT's defaults (every core)
            so.intra_op_num_threads = threads
            so.inter_op_num_threads = threads
        sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
        return lambda: sess.run(None, feeds)
    if backend == "onnxruntime-iobinding":
        # onnxruntime_perf_test's way (-I): inputs bound once, outputs pre-allocated by ORT on CPU, no conversion
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads or 1
        so.inter_op_num_threads = threads or 1
        sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
        binding = sess.io_binding()
        for name, value in feeds.items():
            binding.bind_cpu_input(name, value)
        for out in sess.get_outputs():
            binding.bind_output(out.name, "cpu")
        return lambda: sess.run_with_iobinding(binding)
    if backend == "openvino":
        import openvino as ov

        core = ov.Core()
        # the same configuration and call as infbench's engine: f32 (not the CPU's silent bf16), shared buffers
        compiled = core.compile_model(
            core.read_model(onnx_path),
            "CPU",
            {
                "INFERENCE_NUM_THREADS": 1,
                "NUM_STREAMS": 1,
                "PERFORMANCE_HINT": "LATENCY",
                "INFERENCE_PRECISION_HINT": "f32",
            },
        )
        req = compiled.create_infer_request()
        return lambda: req.infer(feeds, share_inputs=True, share_outputs=True)
    if backend == "torch":
        import torch
        from transformers import AutoModelForTokenClassification

        torch.set_num_threads(1)
        model = AutoModelForTokenClassification.from_pretrained(hf_dir, local_files_only=True).eval()
        tfeeds = {k: torch.from_numpy(v) for k, v in feeds.items()}

        def call():
            with torch.inference_mode():
                return model(**tfeeds)

        return call
    raise SystemExit(f"unknown backend {backend}")


def _threads(arg: str, backend: str) -> int | None:
    if arg == "default":
        if backend != "onnxruntime":
            raise SystemExit("THREADS=default is supported for onnxruntime only")
        return None
    if not backend.startswith("onnxruntime") and arg != "1":
        raise SystemExit("only onnxruntime takes a thread count other than 1 here")
    return int(arg)


def main() -> None:
    """Serve run commands on stdin."""
    backend, onnx_path, hf_dir, feeds_path = sys.argv[1:5]
    threads = _threads(sys.argv[5] if len(sys.argv) > 5 else "1", backend)
    feeds = dict(np.load(feeds_path))
    call = build(backend, onnx_path, hf_dir, feeds, threads)
    for _ in range(5):
        call()
    print("ready", flush=True)
    pc = time.perf_counter_ns
    for line in sys.stdin:
        parts = line.split()
        if not parts or parts[0] == "quit":
            return
        seconds, out = float(parts[1]), parts[2]
        durs = []
        end = pc() + int(seconds * 1e9)
        while True:
            s = pc()
            call()
            e = pc()
            durs.append(e - s)
            if e >= end:
                break
        np.save(out, np.array(durs, dtype=np.int64))
        print("done", flush=True)


if __name__ == "__main__":
    main()
