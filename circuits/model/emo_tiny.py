"""``emo-tiny``: building and loading the project's testbed as a ``HookedTransformer``.

The checkpoint directory (shipped in the package, ``circuits/testbed/checkpoint``) holds:

- ``config.json``: the architecture (the arguments of ``HookedTransformerConfig``);
- ``model.safetensors``: the weights, in TransformerLens' own parameter names;
- ``tokenizer.json``: a byte-level BPE tokenizer (``tokenizers``), so any text tokenizes.

The chat template is fixed here (:data:`CHAT_TEMPLATE`), so that a checkpoint never disagrees
with the code that renders prompts for it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from jaxtyping import Float
from torch import Tensor

from circuits.errors import UserError
from circuits.model.hooked import TLBackend
from circuits.paths import EMO_TINY_DIR

SPECIAL_TOKENS = ("<|pad|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>")
PAD, END = "<|pad|>", "<|end|>"
CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def make_tokenizer(tokenizer_file: str | Path) -> Any:
    """A Hugging Face fast tokenizer around the ``tokenizers`` file, with the chat template."""
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    tok = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_file(str(tokenizer_file)), pad_token=PAD, eos_token=END
    )
    tok.chat_template = CHAT_TEMPLATE
    return tok


def tl_config(arch: dict[str, Any], device: str = "cpu", dtype: torch.dtype = torch.float32):
    """The ``HookedTransformerConfig`` of an ``emo-tiny``-style model from its ``config.json``."""
    from transformer_lens import HookedTransformerConfig

    return HookedTransformerConfig(
        n_layers=arch["n_layers"],
        d_model=arch["d_model"],
        n_heads=arch["n_heads"],
        d_head=arch["d_model"] // arch["n_heads"],
        d_mlp=arch["d_mlp"],
        d_vocab=arch["d_vocab"],
        n_ctx=arch["n_ctx"],
        act_fn="gelu_new",
        normalization_type="LN",
        positional_embedding_type="rotary",
        rotary_dim=arch["d_model"] // arch["n_heads"],
        rotary_adjacent_pairs=False,
        default_prepend_bos=False,
        seed=arch.get("seed", 0),
        device=device,
        dtype=dtype,
        model_name="emo-tiny",
    )


def build_tl_model(arch: dict[str, Any], device: str = "cpu", dtype: torch.dtype = torch.float32):
    """A freshly initialised ``HookedTransformer`` from an architecture dict."""
    from transformer_lens import HookedTransformer

    return HookedTransformer(tl_config(arch, device, dtype))


def build_trainable(arch: dict[str, Any]) -> torch.nn.Module:
    """A freshly initialised emo-tiny-style model to train (CPU, float32, train mode): a plain
    ``nn.Module`` for the optimiser, whose ``state_dict`` is what :func:`load_checkpoint_dir` reads;
    :func:`training_logits` runs it."""
    return build_tl_model(arch).train()


def training_logits(module: torch.nn.Module, tokens: Tensor) -> Float[Tensor, "batch pos d_vocab"]:
    """Logits of a :func:`build_trainable` model at every position of right-padded ``tokens``."""
    return module(tokens, return_type="logits")


def load_checkpoint_dir(path: Path, name: str, device: str = "cpu", dtype: torch.dtype = torch.float32) -> TLBackend:
    """Load a checkpoint directory written by :func:`circuits.testbed.train.save_checkpoint`.

    Every parameter of the architecture must be in the weights file with its shape, and nothing
    else (the rotary tables and masks are rebuilt from the config); a damaged, truncated or
    mismatched file is refused with one line."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    files = [path / f for f in ("config.json", "model.safetensors", "tokenizer.json")]
    missing = [f.name for f in files if not f.is_file()]
    retrain = "retrain it with `python -m circuits.run experiment=train_emo_tiny` (or reinstall the package)"
    if missing:
        raise UserError(f"{name} checkpoint incomplete in {path} (missing {', '.join(missing)}): {retrain}")
    try:
        arch = json.loads(files[0].read_text())
        model = build_tl_model(arch, device, dtype)
    except (ValueError, KeyError, TypeError) as err:
        raise UserError(f"{files[0]} is damaged ({type(err).__name__}: {err}): {retrain}") from None
    try:
        state = load_file(str(files[1]), device=str(device))
    except (SafetensorError, OSError, ValueError) as err:
        raise UserError(f"{files[1]} is damaged ({str(err).splitlines()[0]}): {retrain}") from None
    params = dict(model.named_parameters())
    absent = [k for k in params if k not in state]
    unknown = [k for k in state if k not in params]
    wrong = [k for k in params if k in state and state[k].shape != params[k].shape]
    if absent or unknown or wrong:
        what = "; ".join(f"{label} {keys[:2]}{' ...' if len(keys) > 2 else ''}" for label, keys in
                         (("missing", absent), ("unexpected", unknown), ("wrong shape", wrong)) if keys)
        raise UserError(f"{files[1]} does not fit the architecture in config.json ({what}): {retrain}")
    model.load_state_dict({k: v.to(dtype) for k, v in state.items()}, strict=False)
    try:
        tok = make_tokenizer(files[2])
    except Exception as err:  # the tokenizers library raises its own exception types
        raise UserError(f"{files[2]} is damaged ({type(err).__name__}): {retrain}") from None
    return TLBackend(name, model, tok, [tok.convert_tokens_to_ids(END)])


def load_emo_tiny(device: str = "cpu", dtype: torch.dtype = torch.float32) -> TLBackend:
    """The shipped ``emo-tiny`` testbed."""
    return load_checkpoint_dir(EMO_TINY_DIR, "emo-tiny", device, dtype)
