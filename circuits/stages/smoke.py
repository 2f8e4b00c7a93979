"""Smoke stage: the whole path in seconds (load, prompts, a cached read-out, a short generation)."""

from __future__ import annotations

from circuits import layout
from circuits.activations import read_last_token
from circuits.generation import Decoding, generate
from circuits.sites import ReadOut, ResidSite
from circuits.stages.context import RunContext
from circuits.vocab import Split


def run(ctx: RunContext) -> dict:
    cfg, model = ctx.cfg, ctx.model
    prompts = ctx.prompts(ctx.split(Split.DISCOVERY), [ctx.emotions[0], None])[: cfg.smoke.n_prompts]
    site = ResidSite(model.info.n_layers // 2, ReadOut.RESID_POST)
    acts = read_last_token(model, [p.text for p in prompts], [site])[site]
    decoding = Decoding(max_new_tokens=cfg.smoke.max_new_tokens, batch_size=cfg.decoding.batch_size)
    replies = generate(model, [p.text for p in prompts], decoding, progress=False)
    rows = [
        {"skeleton_id": p.skeleton_id, "valence": p.valence, "emotion": p.emotion, "reply": r.text}
        for p, r in zip(prompts, replies)
    ]
    ctx.run.write_jsonl(layout.SMOKE.replies.path(), rows)
    metrics = {
        "model": model.info.name,
        "n_layers": model.info.n_layers,
        "n_prompts": len(prompts),
        "readout": str(site),
        "readout_norm_mean": float(acts.norm(dim=-1).mean()),
        "mean_reply_tokens": sum(len(r.token_ids) for r in replies) / len(replies),
    }
    ctx.run.add_metrics("smoke", metrics)
    return metrics


def load(ctx: RunContext) -> dict:
    """The finished stage's metrics (what ``run`` returns), read back from ``metrics.json``."""
    return ctx.run.metrics["smoke"]
