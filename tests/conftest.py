"""Shared fixtures: offline mode, the shipped testbed model, tiny random models, and one small
real run of the whole pipeline.

``small_run`` is the ``reproduce`` experiment on emo-tiny, shrunk to a few prompts, through the
real runner, once per test session: every stage runs (elicit, directions, steer, components,
circuits, modulate, summary, report), so the stage, view, report and browser tests read the
artifacts a real run writes. Set ``CIRCUITS_SMALL_RUN=<run dir>`` to reuse a finished run
directory instead (it must come from the same experiment); the tests then skip building one.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest  # noqa: E402
import torch  # noqa: E402


@pytest.fixture(scope="session")
def emo_tiny():
    """The shipped emo-tiny testbed (loaded once per session)."""
    from circuits.model.loading import load_model

    return load_model("emo-tiny")


@pytest.fixture(scope="session")
def tiny_model():
    """A 2-layer random TLBackend with emo-tiny's tokenizer: fast property tests."""
    from circuits.model.emo_tiny import END, build_tl_model, make_tokenizer
    from circuits.model.hooked import TLBackend
    from circuits.paths import EMO_TINY_DIR

    tok = make_tokenizer(EMO_TINY_DIR / "tokenizer.json")
    torch.manual_seed(0)
    arch = {"n_layers": 2, "d_model": 64, "n_heads": 4, "d_mlp": 128, "d_vocab": len(tok), "n_ctx": 256}
    return TLBackend("tiny-random", build_tl_model(arch), tok, [tok.convert_tokens_to_ids(END)])


def _random_model(**overrides):
    """A random 2-layer ``TLBackend`` with emo-tiny's tokenizer (RMSNorm, SiLU, rotary by
    default; ``overrides`` are ``HookedTransformerConfig`` fields)."""
    from transformer_lens import HookedTransformer, HookedTransformerConfig

    from circuits.model.emo_tiny import END, make_tokenizer
    from circuits.model.hooked import TLBackend
    from circuits.paths import EMO_TINY_DIR

    tok = make_tokenizer(EMO_TINY_DIR / "tokenizer.json")
    args = dict(
        n_layers=2,
        d_model=64,
        n_heads=4,
        d_head=16,
        d_mlp=128,
        d_vocab=len(tok),
        n_ctx=256,
        act_fn="silu",
        normalization_type="RMS",
        positional_embedding_type="rotary",
        rotary_dim=16,
        default_prepend_bos=False,
        seed=0,
    )
    args.update(overrides)
    torch.manual_seed(0)
    tl = HookedTransformer(HookedTransformerConfig(**args))
    return TLBackend("tiny-" + "-".join(overrides), tl, tok, [tok.convert_tokens_to_ids(END)])


@pytest.fixture(scope="session")
def make_random_model():
    """Builds random tiny models of any architecture: ``make_random_model(n_key_value_heads=2,
    gated_mlp=True)`` is SmolLM2's attention and MLP in miniature."""
    return _random_model


@pytest.fixture
def modified_copy(tmp_path):
    """``modified_copy(source, change)``: a copy of the JSON file ``source`` with ``change(raw)``
    applied to its parsed content, written under ``tmp_path``; returns the copy's path."""
    import json

    def make(source: Path, change) -> Path:
        raw = json.loads(source.read_text(encoding="utf-8"))
        change(raw)
        path = tmp_path / source.name
        path.write_text(json.dumps(raw), encoding="utf-8")
        return path

    return make


CHAT = [
    [{"role": "system", "content": "Keep the reply to at most two sentences."},
     {"role": "user", "content": "I repaired the fence.\nMy neighbour looked at the fence and said nothing."}],
    [{"role": "system", "content": "Keep the reply to at most two sentences."},
     {"role": "user", "content": "I sent the report to my manager this morning after a long week of work.\nMy manager filed it."}],
    [{"role": "user", "content": "I booked the train.\nThe train was on time."}],
]


@pytest.fixture(scope="session")
def chat_texts(emo_tiny) -> list[str]:
    """Three neutral chat prompts (system turn, long system turn, user turn only) rendered for emo-tiny."""
    return [emo_tiny.render_chat(m) for m in CHAT]


SMALL_REPRODUCE = [
    "experiment=reproduce",
    "data.per_theme=1",
    "elicit.templates=[system]",
    "decoding.max_new_tokens=32",
    "components.max_prompts=12",
    "components.validate_prompts=6",
    "components.validate_ks_max=4",
    "components.random_draws=2",
    "components.generate_k=0",
    "components.metrics=[same_layer]",
    "circuit.max_prompts=12",
    "circuit.size_multipliers=[1.0]",
    "circuit.necessity_draws=3",
    "modulate.per_theme=1",
    "modulate.calibrate=false",
    "modulate.sweep_multipliers=[1.0]",
    "modulate.sweep_per_theme=1",
    "progress=false",
]
"""The reproduce experiment at its smallest: one skeleton per theme, short replies, few draws."""


@pytest.fixture(scope="session")
def small_run(tmp_path_factory) -> Path:
    """A finished run directory of the small reproduce experiment on emo-tiny."""
    reuse = os.environ.get("CIRCUITS_SMALL_RUN")
    if reuse:
        return Path(reuse)
    from circuits.run import compose, run

    out = tmp_path_factory.mktemp("small") / "run"
    start = time.perf_counter()
    run(compose([*SMALL_REPRODUCE, f"out_dir={out}"]))
    print(f"\nsmall_run: the small reproduce run took {time.perf_counter() - start:.1f} s")
    return out
