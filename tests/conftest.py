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
