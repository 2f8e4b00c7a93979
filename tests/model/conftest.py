"""Tiny synthetic GGUF chat models, written the way llama.cpp's converter writes real ones.

A random ``transformers`` model of each architecture is saved with ``gguf.GGUFWriter``:
llama.cpp's tensor names, its metadata keys, a byte-level BPE tokenizer with a ChatML template,
and its layout quirks (the query and key rows of Llama files permuted for its rotary kernel;
Gemma's norms stored as ``w + 1``), so that ``transformers`` reading the file back must undo
them. The parity tests need no download.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + "
    "'<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
MERGES = ["h e", "Ġ t", "Ġt he", "i n", "a n", "Ġ a", "e r", "o n", "Ġ s", "r e"]


def _tokenizer() -> tuple[list[str], list[str], list[int]]:
    """A byte-level BPE vocabulary (llama.cpp's ``gpt2`` tokenizer model, as Llama 3, Qwen2 and
    SmolLM2 files have): the byte alphabet, a few merges, ChatML's control tokens."""
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    alphabet = list(bytes_to_unicode().values())
    merged = ["".join(m.split(" ")) for m in MERGES]
    tokens = alphabet + merged + SPECIALS
    types = [1] * (len(alphabet) + len(merged)) + [3] * len(SPECIALS)  # 3: control
    return tokens, MERGES, types


def _sentencepiece_tokenizer() -> tuple[list[str], list[float], list[int]]:
    """A sentencepiece vocabulary (llama.cpp's ``llama`` tokenizer model, as Gemma files have):
    control tokens, the 256 byte-fallback tokens, characters and a few pieces, best first."""
    control = ["<pad>", "<eos>", "<bos>", "<unk>", *SPECIALS]
    byte_tokens = [f"<0x{b:02X}>" for b in range(256)]
    chars = ["\u2581", *"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'-:\n"]
    pieces = ["\u2581t", "he", "\u2581the", "in", "an", "\u2581a", "er", "on", "\u2581s", "re"]
    tokens = control + byte_tokens + pieces + chars
    types = [3] * len(control) + [6] * len(byte_tokens) + [1] * (len(pieces) + len(chars))  # 6: byte
    scores = [0.0] * (len(control) + len(byte_tokens)) + [-float(i) for i in range(len(pieces) + len(chars))]
    return tokens, scores, types


def _permute(w: torch.Tensor, n_head: int) -> torch.Tensor:
    """llama.cpp's ``LlamaModel.permute``: rotary halves interleaved per head."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _hf_model(arch: str, vocab: int, seed: int) -> torch.nn.Module:
    import transformers

    torch.manual_seed(seed)
    common = dict(vocab_size=vocab, hidden_size=64, intermediate_size=96, num_hidden_layers=3,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                  rms_norm_eps=1e-6, bos_token_id=vocab - 3, eos_token_id=vocab - 1, pad_token_id=vocab - 3)
    if arch == "llama":
        cfg = transformers.LlamaConfig(**common, tie_word_embeddings=True, rope_theta=10000.0)
        model = transformers.LlamaForCausalLM(cfg)
    elif arch == "qwen2":
        cfg = transformers.Qwen2Config(**common, tie_word_embeddings=False, rope_theta=1000000.0)
        model = transformers.Qwen2ForCausalLM(cfg)
    elif arch == "gemma3":
        # transformers reads neither the local rope base nor the query scale nor the layer
        # pattern from a GGUF, so the model uses the defaults it will fall back to.
        # Six layers: the sixth is a global-attention layer (the default pattern), the rest local.
        cfg = transformers.Gemma3TextConfig(**{**common, "num_hidden_layers": 6}, head_dim=16, sliding_window=6,
                                            tie_word_embeddings=True)
        model = transformers.Gemma3ForCausalLM(cfg)
    else:
        raise ValueError(arch)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.2 * torch.randn_like(p) if arch != "gemma3" else 0.2 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn_like(p))
            else:
                p.copy_(0.15 * torch.randn_like(p))
    return model.eval()


def write_gguf(path: Path, arch: str, seed: int = 0) -> torch.nn.Module:
    """Write a tiny random ``arch`` chat model to ``path`` as llama.cpp would; return the
    ``transformers`` model it was written from."""
    import gguf

    if arch == "gemma3":
        tokens, scores, types = _sentencepiece_tokenizer()
    else:
        tokens, merges, types = _tokenizer()
    model = _hf_model(arch, len(tokens), seed)
    c = model.config
    head_dim = getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads
    w = gguf.GGUFWriter(str(path), arch)
    w.add_name(f"synthetic {arch}")
    w.add_context_length(c.max_position_embeddings)
    w.add_embedding_length(c.hidden_size)
    w.add_block_count(c.num_hidden_layers)
    w.add_feed_forward_length(c.intermediate_size)
    w.add_head_count(c.num_attention_heads)
    w.add_head_count_kv(c.num_key_value_heads)
    w.add_layer_norm_rms_eps(c.rms_norm_eps)
    w.add_vocab_size(len(tokens))
    if arch == "gemma3":
        w.add_key_length(head_dim)
        w.add_value_length(head_dim)
        w.add_sliding_window(c.sliding_window)
        w.add_rope_freq_base(1000000.0)
    else:
        w.add_rope_dimension_count(head_dim)
        w.add_rope_freq_base(c.rope_parameters["rope_theta"])
    sentencepiece = arch == "gemma3"
    w.add_tokenizer_model("llama" if sentencepiece else "gpt2")
    w.add_token_list(tokens)
    if sentencepiece:
        w.add_token_scores(scores)
        w.add_unk_token_id(tokens.index("<unk>"))
    else:
        w.add_token_merges(merges)
    w.add_token_types(types)
    w.add_bos_token_id(tokens.index("<bos>" if sentencepiece else "<|endoftext|>"))
    w.add_pad_token_id(tokens.index("<pad>" if sentencepiece else "<|endoftext|>"))
    w.add_eos_token_id(tokens.index("<|im_end|>"))
    w.add_add_bos_token(False)
    w.add_chat_template(CHATML)

    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH[arch.upper()], c.num_hidden_layers)
    for hf_name, tensor in model.state_dict().items():
        if hf_name == "lm_head.weight" and c.tie_word_embeddings:
            continue  # llama.cpp writes no output matrix for a tied model
        data = tensor.detach().float().clone()
        if arch == "llama" and hf_name.endswith("q_proj.weight"):
            data = _permute(data, c.num_attention_heads)
        elif arch == "llama" and hf_name.endswith("k_proj.weight"):
            data = _permute(data, c.num_key_value_heads)
        if arch == "gemma3" and hf_name.endswith("norm.weight"):
            data = data + 1
        name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        assert name is not None, hf_name
        w.add_tensor(name, np.ascontiguousarray(data.numpy()))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return model


@pytest.fixture(scope="session")
def synthetic_gguf(tmp_path_factory) -> Callable[[str], tuple[Path, torch.nn.Module]]:
    """``synthetic_gguf(arch)`` -> (path of a tiny GGUF of that architecture, the model written)."""
    made: dict[str, tuple[Path, torch.nn.Module]] = {}

    def make(arch: str) -> tuple[Path, torch.nn.Module]:
        if arch not in made:
            path = tmp_path_factory.mktemp(f"gguf-{arch}") / f"tiny-{arch}.gguf"
            made[arch] = (path, write_gguf(path, arch))
        return made[arch]

    return make
