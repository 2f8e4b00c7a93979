"""Reading activations at the last prompt token, streamed over batches.

Only the requested sites are hooked and only the last position is kept, so memory grows with
the batch, not with the dataset or the model: no full activation cache is ever built. A forward
pass stops after the deepest requested layer.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from jaxtyping import Float
from torch import Tensor
from tqdm.auto import tqdm

from circuits.model.backend import HookedModel
from circuits.sites import EmbedSite, Site


class _LastPositionRecorder:
    """A hook that stores a copy of the activation at position -1 (the last prompt token)."""

    def __init__(self) -> None:
        self.chunks: list[Tensor] = []

    def __call__(self, activation: Tensor) -> None:
        self.chunks.append(activation[:, -1].detach().to(torch.float32).clone())


def _stop_layer(sites: Sequence[Site], n_layers: int) -> int | None:
    deepest = max((getattr(s, "layer", 0) for s in sites), default=0)
    return deepest + 1 if deepest + 1 < n_layers else None


@torch.inference_mode()
def read_last_token(
    model: HookedModel,
    prompts: Sequence[str],
    sites: Sequence[Site],
    batch_size: int = 64,
    progress: bool = False,
    desc: str = "reading activations",
) -> dict[Site, Float[Tensor, "prompt ..."]]:
    """Activations at the last prompt token of every prompt, for every site, in prompt order.

    Returns float32 tensors of shape [n_prompts, *site_shape] (e.g. [n, d_model] for a residual
    site, [n, head, d_head] for heads, [n, d_mlp] for neurons).
    """
    ids = [model.token_ids(p) for p in prompts]
    order = sorted(range(len(ids)), key=lambda i: (-len(ids[i]), i))
    recorders = {site: _LastPositionRecorder() for site in sites}
    stop = _stop_layer([s for s in sites if not isinstance(s, EmbedSite)], model.info.n_layers)
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    with model.hooks(list(recorders.items())):
        for chunk in tqdm(batches, desc=desc, disable=not progress, leave=False):
            batch = model.pad([ids[i] for i in chunk])
            model.forward(batch.tokens, batch.attention_mask, stop_at_layer=stop)
    inverse = torch.empty(len(order), dtype=torch.long)
    inverse[torch.tensor(order)] = torch.arange(len(order))
    return {site: torch.cat(rec.chunks)[inverse] for site, rec in recorders.items()}
