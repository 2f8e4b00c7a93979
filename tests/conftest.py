"""Shared fixtures: offline mode, the shipped testbed model, tiny random models."""

from __future__ import annotations

import os

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
    """A 2-layer random HookedModel with emo-tiny's tokenizer: fast property tests."""
    from circuits.model.backend import HookedModel
    from circuits.model.emo_tiny import END, build_tl_model, make_tokenizer
    from circuits.paths import EMO_TINY_DIR

    tok = make_tokenizer(EMO_TINY_DIR / "tokenizer.json")
    torch.manual_seed(0)
    arch = {"n_layers": 2, "d_model": 64, "n_heads": 4, "d_mlp": 128, "d_vocab": len(tok), "n_ctx": 256}
    return HookedModel("tiny-random", build_tl_model(arch), tok, [tok.convert_tokens_to_ids(END)])


def _random_model(**overrides):
    """A random 2-layer ``HookedModel`` with emo-tiny's tokenizer (RMSNorm, SiLU, rotary by
    default; ``overrides`` are ``HookedTransformerConfig`` fields)."""
    from transformer_lens import HookedTransformer, HookedTransformerConfig

    from circuits.model.backend import HookedModel
    from circuits.model.emo_tiny import END, make_tokenizer
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
    return HookedModel("tiny-" + "-".join(overrides), tl, tok, [tok.convert_tokens_to_ids(END)])


@pytest.fixture(scope="session")
def make_random_model():
    """Builds random tiny models of any architecture: ``make_random_model(n_key_value_heads=2,
    gated_mlp=True)`` is SmolLM2's attention and MLP in miniature."""
    return _random_model
