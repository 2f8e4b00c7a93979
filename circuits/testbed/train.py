"""Training ``emo-tiny`` from scratch: tokenizer, model, checkpoint.

Deterministic for a seed: the corpus stream, the tokenizer and the initial weights are seeded,
and training runs on a fixed number of CPU threads, so retraining reproduces the shipped loss
curve step by step. The loss is next-token cross-entropy on the reply tokens only (the prompt is
context, not a target): the model's capacity goes to computing the reply from the prompt.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from circuits.artifacts import atomic_write_bytes, dumps_json, to_jsonable
from circuits.config import TrainConfig
from circuits.data.generator import project_splits
from circuits.model.emo_tiny import END, build_trainable, make_tokenizer, training_logits
from circuits.testbed.corpus import Example, example_stream
from circuits.testbed.tokenizer import train_tokenizer

log = logging.getLogger(__name__)

TOKENIZER_EXAMPLES = 20_000
THREADS = 2


@dataclass(frozen=True)
class TrainResult:
    out_dir: Path
    losses: tuple[float, ...]
    seconds: float
    tokens: int


def architecture(tcfg: TrainConfig, d_vocab: int) -> dict:
    return {
        "n_layers": tcfg.n_layers,
        "d_model": tcfg.d_model,
        "n_heads": tcfg.n_heads,
        "d_mlp": tcfg.d_mlp,
        "d_vocab": d_vocab,
        "n_ctx": tcfg.n_ctx,
        "seed": tcfg.seed,
    }


def _render(example: Example, tokenizer) -> str:
    return tokenizer.apply_chat_template(example.chat(), tokenize=False, add_generation_prompt=True)


def _encode_batch(examples: list[Example], tokenizer, end_id: int, pad_id: int, n_ctx: int):
    """Right-padded ``prompt + reply + <|end|>`` and a mask that is 1 on the reply targets."""
    prompts = tokenizer([_render(e, tokenizer) for e in examples], add_special_tokens=False)["input_ids"]
    replies = tokenizer([e.reply for e in examples], add_special_tokens=False)["input_ids"]
    seqs = [(p + r + [end_id])[:n_ctx] for p, r in zip(prompts, replies)]
    width = max(map(len, seqs))
    tokens = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    target_mask = torch.zeros((len(seqs), width), dtype=torch.bool)
    for i, (seq, p) in enumerate(zip(seqs, prompts)):
        tokens[i, : len(seq)] = torch.tensor(seq)
        target_mask[i, len(p) : len(seq)] = True
    return tokens, target_mask


def _lr(step: int, tcfg: TrainConfig) -> float:
    if step < tcfg.warmup:
        return tcfg.lr * (step + 1) / tcfg.warmup
    progress = (step - tcfg.warmup) / max(1, tcfg.steps - tcfg.warmup)
    return tcfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def build_tokenizer(tcfg: TrainConfig, out_dir: Path):
    """Train the tokenizer on a seeded sample of the corpus; returns the HF tokenizer."""
    train_pool = project_splits(tcfg.seed)["train"]
    stream = example_stream(train_pool, seed=tcfg.seed + 1, neutral_emotional_share=tcfg.neutral_emotional_share)
    texts = []
    for _, ex in zip(range(TOKENIZER_EXAMPLES), stream):
        texts.extend(content for _, content in ex.messages)
        texts.append(ex.reply)
    tok = train_tokenizer(texts, tcfg.vocab_size)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out_dir / "tokenizer.json", tok.to_str(pretty=False).encode())
    return make_tokenizer(out_dir / "tokenizer.json")


def train(
    tcfg: TrainConfig,
    out_dir: Path,
    steps: int | None = None,
    progress: bool = True,
    on_step: Callable[[int, float], None] | None = None,
) -> TrainResult:
    """Train tokenizer and model and write the checkpoint to ``out_dir``.

    ``steps`` stops early (for the reproducibility test) without changing the schedule.
    """
    torch.set_num_threads(THREADS)
    out_dir = Path(out_dir)
    n_steps = tcfg.steps if steps is None else min(steps, tcfg.steps)
    log.info("training the emo-tiny tokenizer (vocab %d)", tcfg.vocab_size)
    tokenizer = build_tokenizer(tcfg, out_dir)
    end_id, pad_id = tokenizer.convert_tokens_to_ids(END), tokenizer.pad_token_id
    arch = architecture(tcfg, len(tokenizer))
    torch.manual_seed(tcfg.seed)
    model = build_trainable(arch)
    n_params = sum(p.numel() for p in model.parameters())
    log.info("emo-tiny: %s, %.2f M parameters, %d steps of %d", arch, n_params / 1e6, n_steps, tcfg.batch_size)
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": tcfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=tcfg.lr,
        betas=(0.9, 0.98),
    )
    stream = example_stream(
        project_splits(tcfg.seed)["train"], seed=tcfg.seed, neutral_emotional_share=tcfg.neutral_emotional_share
    )
    losses: list[float] = []
    tokens_seen = 0
    start = time.perf_counter()
    bar = tqdm(range(n_steps), desc="training emo-tiny", disable=not progress)
    for step in bar:
        batch = [next(stream) for _ in range(tcfg.batch_size)]
        tokens, target_mask = _encode_batch(batch, tokenizer, end_id, pad_id, tcfg.n_ctx)
        for group in opt.param_groups:
            group["lr"] = _lr(step, tcfg)
        logits = training_logits(model, tokens)
        targets = tokens[:, 1:]
        mask = target_mask[:, 1:]
        loss = torch.nn.functional.cross_entropy(logits[:, :-1][mask], targets[mask])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        tokens_seen += int(tokens.numel())
        if step % 10 == 0:
            bar.set_postfix(loss=f"{losses[-1]:.4f}")
        if tcfg.log_every and step % tcfg.log_every == 0:
            log.info("step %d loss %.4f lr %.2e", step, losses[-1], _lr(step, tcfg))
        if on_step:
            on_step(step, losses[-1])
    seconds = time.perf_counter() - start
    save_checkpoint(model, arch, out_dir, losses, tcfg)
    return TrainResult(out_dir, tuple(losses), seconds, tokens_seen)


def save_checkpoint(model, arch: dict, out_dir: Path, losses: list[float], tcfg: TrainConfig) -> None:
    """Write weights, architecture and loss curve (the tokenizer is already there), atomically."""
    from safetensors.torch import save

    state = {k: v.detach().contiguous() for k, v in model.state_dict().items() if not _is_buffer(k)}
    atomic_write_bytes(out_dir / "model.safetensors", save(state))
    atomic_write_bytes(out_dir / "config.json", dumps_json(arch).encode())
    log_obj = {"train_config": {k: to_jsonable(getattr(tcfg, k)) for k in tcfg.__dataclass_fields__ if k != "out_dir"},
               "losses": [round(x, 7) for x in losses]}
    atomic_write_bytes(out_dir / "train_log.json", json.dumps(log_obj).encode())


def _is_buffer(name: str) -> bool:
    """Derived buffers (rotary tables, masks) are rebuilt from the config at load time."""
    return name.endswith(("rotary_sin", "rotary_cos", ".mask", ".IGNORE"))
