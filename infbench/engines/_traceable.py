"""Make transformers' attention masks traceable by the TorchScript ONNX exporter, on any version we support.

transformers 4.53–4.57 build attention masks with ``torch.vmap``, which TorchScript cannot trace (GPT-2 fails with
``RuntimeError: unordered_map::at``). `traceable_masks` swaps in a broadcast implementation of the same masks for
the duration of an export, the way Optimum's own exporter does, and restores the originals after. On versions
without the mask registry (older) or without vmap masks (5.x) it changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def traceable_masks() -> Iterator[None]:
    """Within the block, transformers builds "sdpa" and "eager" masks without ``torch.vmap``."""
    try:
        from transformers import masking_utils
    except ImportError:
        yield
        return
    import transformers

    if int(transformers.__version__.split(".")[0]) >= 5:
        yield  # 5.x masks trace as they are
        return
    mu: Any = masking_utils  # private helpers, typed differently across versions
    registry = getattr(mu, "ALL_MASK_ATTENTION_FUNCTIONS", None)
    needed = ("prepare_padding_mask", "_ignore_causal_mask_sdpa", "and_masks", "padding_mask_function")
    if registry is None or not hasattr(mu, "_vmap_for_bhqkv") or not all(hasattr(mu, n) for n in needed):
        yield
        return
    import torch

    def sdpa_mask(
        batch_size: int,
        cache_position: torch.Tensor,
        kv_length: int,
        kv_offset: int = 0,
        mask_function: Callable[..., Any] | None = None,
        attention_mask: torch.Tensor | None = None,
        local_size: int | None = None,
        allow_is_causal_skip: bool = True,
        **_: Any,
    ) -> torch.Tensor | None:
        mask_function = mask_function or mu.causal_mask_function
        q_length = cache_position.shape[0]
        padding = mu.prepare_padding_mask(attention_mask, kv_length, kv_offset, _slice=False)
        if allow_is_causal_skip and mu._ignore_causal_mask_sdpa(
            padding, q_length, kv_length, kv_offset, local_size
        ):
            return None
        if padding is not None:
            mask_function = mu.and_masks(mask_function, mu.padding_mask_function(padding))
        device = cache_position.device
        batch = torch.arange(batch_size, dtype=torch.long, device=device)[:, None, None, None]
        head = torch.arange(1, dtype=torch.long, device=device)[None, :, None, None]
        q = cache_position[None, None, :, None]
        kv = torch.arange(kv_length, dtype=torch.long, device=device)[None, None, None, :] + kv_offset
        mask: torch.Tensor = mask_function(batch, head, q, kv)
        return mask.expand(batch_size, -1, q_length, kv_length)

    def eager_mask(*args: Any, **kwargs: Any) -> torch.Tensor:
        kwargs["allow_is_causal_skip"] = False
        dtype = kwargs.pop("dtype", torch.float32)
        mask = sdpa_mask(*args, **kwargs)
        assert mask is not None
        zero = torch.tensor(0.0, device=mask.device, dtype=dtype)
        return torch.where(mask, zero, torch.finfo(dtype).min)

    saved = {k: registry[k] for k in ("sdpa", "eager") if k in registry}
    saved_packed = getattr(mu, "find_packed_sequence_indices", None)
    registry.register("sdpa", sdpa_mask)
    registry.register("eager", eager_mask)
    if saved_packed is not None:
        # torch.diff in the packed-sequence check is not traceable either; exports never pack sequences
        mu.find_packed_sequence_indices = lambda position_ids: None
    try:
        yield
    finally:
        for key, fn in saved.items():
            registry.register(key, fn)
        if saved_packed is not None:
            mu.find_packed_sequence_indices = saved_packed
