"""Slow, obviously correct reference implementations, for tests and benchmarks.

:func:`per_head_loop` is the TransformerLens ``patching`` style: one whole forward pass (every
position, every layer, the unembedding) per ablated head. The fast scorers in
:mod:`circuits.attribution.heads` must agree with it to 1e-5, and ``make bench`` reports how
much faster they are.
"""

from __future__ import annotations

import torch
from torch import Tensor

from circuits.attribution.heads import HeadTargets
from circuits.model.backend import Backend, HookFn, Record, TokenBatch
from circuits.sites import HeadsSite, ReadOut, ResidSite, Site
from circuits.vocab import Ablation


class _AblateHead:
    """Replaces head ``head``'s z at every position (zero, its dataset mean, or the batch's
    resample: the clean z of the previous row, padding zeroed)."""

    def __init__(self, head: int, ablation: Ablation, mean: Tensor | None, clean: Tensor, mask: Tensor) -> None:
        self.head, self.ablation, self.mean, self.clean, self.mask = head, ablation, mean, clean, mask

    def __call__(self, z: Tensor) -> Tensor:
        z = z.clone()
        h = self.head
        if self.ablation is Ablation.ZERO:
            z[:, :, h] = 0
        elif self.ablation is Ablation.MEAN:
            z[:, :, h] = self.mean[h]
        else:
            z[:, :, h] = torch.roll(self.clean, 1, 0)[:, :, h] * self.mask[:, :, None]
        return z


@torch.no_grad()
def per_head_loop(
    model: Backend,
    batch: TokenBatch,
    targets: HeadTargets,
    ablation: Ablation = Ablation.ZERO,
    mean: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """(same-layer drop, final drop) per [layer, head], one whole forward pass per head."""
    L, H = model.info.n_layers, model.info.n_heads
    mask = batch.attention_mask

    def run(hooks: list[tuple[Site, HookFn]]) -> tuple[list[Tensor], Tensor]:
        mids = [Record(last=True) for _ in range(L)]
        final = Record(last=True)
        readers = [(model.after_attention(layer), r) for layer, r in enumerate(mids)]
        with model.hooks([*hooks, *readers, (ResidSite(L - 1, ReadOut.RESID_POST), final)]):
            model.forward(batch.tokens, mask)
        return [r.value for r in mids], final.value

    clean_mids, clean_final = run([])
    zs = [Record() for _ in range(L)]
    with model.hooks([(HeadsSite(layer), r) for layer, r in enumerate(zs)]):
        model.forward(batch.tokens, mask)
    same = torch.zeros(L, H)
    final = torch.zeros(L, H)
    for layer in range(L):
        for h in range(H):
            ablate = _AblateHead(h, ablation, None if mean is None else mean[layer], zs[layer].value, mask)
            mids, out_final = run([(HeadsSite(layer), ablate)])
            v = targets.same_layer[layer]
            same[layer, h] = (clean_mids[layer] @ v - mids[layer] @ v).mean()
            if targets.final is not None:
                final[layer, h] = (clean_final @ targets.final - out_final @ targets.final).mean()
    return same, final
