"""Any local GGUF chat model as a :class:`TLBackend` (or a bridge backend), fully offline.

Users of llama.cpp, Ollama or LM Studio already hold their models as GGUF files: one file with
the (often quantised) weights, the tokenizer and the chat template. ``model=gguf
model.path=<file.gguf>`` loads such a file for the study:

1. the file is checked before anything parses it (:func:`inspect_gguf`): it must start with the
   GGUF magic, its header must parse, every tensor must lie inside the file (a truncated download
   is refused), the architecture must be one this module converts (:data:`ARCHITECTURES`), and
   its sha256 must match when one is expected;
2. ``transformers`` reads it (dequantising to float, undoing llama.cpp's layout: the permuted
   query and key rows of Llama files, Gemma's norms stored as ``w + 1``) into its own model and
   a tokenizer with the file's chat template;
3. a ``HookedTransformerConfig`` is built from that model's config the way TransformerLens's own
   branch for the architecture builds one, and TransformerLens's weight conversion for it maps
   the weights. No weight processing (folding, centring) is applied, so activations and logits
   equal the ``transformers`` model's (tested within 1e-3 per architecture on synthetic files).

Reading a GGUF with ``transformers`` takes tens of seconds (about 40 s for SmolLM2's), so the
first load writes the converted weights (safetensors), the config and the tokenizer to
:func:`circuits.paths.cache_dir`, keyed by the file's sha256 and :data:`FORMAT_VERSION`; later
loads read only that, verified against the sha256 recorded when it was written. The bridge
backend caches the ``transformers`` model the same way.

:mod:`circuits.model.smollm2` and :mod:`circuits.model.qwen_coder` are instances: each locates
and verifies its file, then calls :func:`load_gguf`.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from circuits.artifacts import sha256_file
from circuits.errors import UserError
from circuits.model.hooked import HookPointBackend, TLBackend, stop_token_ids
from circuits.paths import cache_dir
from circuits.vocab import BackendKind

log = logging.getLogger(__name__)

FORMAT_VERSION = 4
"""Version of the cached format; part of the cache key, so bumping it invalidates old caches.
2: the cache records its weights' sha256 and is verified on every load. 3: one loader for every
GGUF architecture. 4: context capped at :data:`MAX_CTX`."""

MAX_CTX = 8192
"""Longest context a converted model is built for. TransformerLens keeps an ``n_ctx x n_ctx``
causal mask per layer, so Qwen2.5's 32k-token context would cost 1 GB per layer (8192: 64 MB); the
study's prompts and replies are a few hundred tokens, and a longer prompt is refused with a clear
error. Models with at most this many positions (SmolLM2: 8192) keep their own."""

ARCHITECTURES = {"llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM", "gemma3": "Gemma3ForCausalLM"}
"""GGUF ``general.architecture`` -> the ``transformers`` / TransformerLens architecture it converts to."""

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "hooked_config.json"
HF_META_FILE = "circuits.json"
"""What the Hugging Face cache records beside the model's files: its weights' sha256."""

_MAGIC = b"GGUF"
# GGUF metadata value types -> struct format of a scalar (8: string, 9: array handled apart).
_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}


# --- the file ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class GGUFInfo:
    """What a GGUF file's header says, checked (:func:`inspect_gguf`)."""

    path: Path
    sha256: str
    architecture: str
    name: str
    n_layers: int
    n_tensors: int
    untied_output: bool
    """Whether the file has its own output (unembedding) matrix, rather than reusing the embedding."""

    def source(self) -> dict[str, Any]:
        """What the run manifest records about the model's file."""
        return {"gguf": str(self.path), "gguf_sha256": self.sha256, "architecture": self.architecture,
                "gguf_name": self.name, "untied_output": self.untied_output}


class _Reader:
    """Just enough of a GGUF parser to check a header: little-endian, bounds-checked."""

    def __init__(self, blob: bytes | memoryview, path: Path) -> None:
        self.blob, self.pos, self.path = blob, 0, path

    def take(self, fmt: str) -> Any:
        size = struct.calcsize("<" + fmt)
        if self.pos + size > len(self.blob):
            raise _Truncated()
        (value,) = struct.unpack_from("<" + fmt, self.blob, self.pos)
        self.pos += size
        return value

    def string(self) -> str:
        n = self.take("Q")
        if self.pos + n > len(self.blob):
            raise _Truncated()
        raw = bytes(self.blob[self.pos:self.pos + n])
        self.pos += n
        return raw.decode("utf-8", errors="replace")

    def value(self, kind: int, keep: bool = True) -> Any:
        if kind in _SCALARS:
            return self.take(_SCALARS[kind])
        if kind == 8:
            return self.string()
        if kind == 9:
            item, count = self.take("I"), self.take("Q")
            if item in _SCALARS and not keep:  # skip fixed-size arrays (token types, scores) fast
                self.pos += count * struct.calcsize("<" + _SCALARS[item])
                if self.pos > len(self.blob):
                    raise _Truncated()
                return count
            values = [self.value(item, keep) for _ in range(count)]
            return values if keep else count
        raise ValueError(f"unknown metadata value type {kind}")


class _Truncated(Exception):
    pass


def file_sha256(path: Path) -> str:
    """The file's sha256, computed once per process for one version of the file (hashing a
    multi-GB model takes seconds, and a run checks the file when it validates and when it loads)."""
    st = path.stat()
    return _sha256_of(str(path.resolve()), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _sha256_of(path: str, size: int, mtime_ns: int) -> str:
    return sha256_file(Path(path))


def inspect_gguf(path: str | Path, expected_sha256: str | None = None) -> GGUFInfo:
    """Check ``path`` is a whole GGUF file of a supported architecture (and, when given, that its
    sha256 is ``expected_sha256``) without parsing any tensor; raise a one-line :class:`UserError`
    otherwise."""
    import numpy as np
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError(f"GGUF file {path} does not exist: set model.path to a .gguf file")
    digest = file_sha256(path)
    if expected_sha256 is not None and digest != expected_sha256:
        raise UserError(f"{path} is not the expected file (sha256 {digest[:12]}..., expected "
                        f"{expected_sha256[:12]}...): it is damaged or a different model; fetch it again")
    size = path.stat().st_size
    if size < 24:
        raise UserError(f"{path} is not a GGUF file ({size} bytes): set model.path to a .gguf model file")
    blob = np.memmap(path, mode="r", dtype=np.uint8)
    try:
        r = _Reader(memoryview(blob), path)
        if bytes(blob[:4]) != _MAGIC:
            raise UserError(f"{path} is not a GGUF file (it does not start with 'GGUF'): set model.path to a "
                            ".gguf model file (llama.cpp, Ollama and LM Studio write them)")
        r.pos = 4
        version, n_tensors, n_kv = r.take("I"), r.take("Q"), r.take("Q")
        if version not in (2, 3):
            raise UserError(f"{path} is GGUF version {version}; this loader reads versions 2 and 3")
        meta: dict[str, Any] = {}
        for _ in range(n_kv):
            key = r.string()
            kind = r.take("I")
            meta[key] = r.value(kind, keep=not key.startswith("tokenizer.ggml."))
        tensors = []
        for _ in range(n_tensors):
            name = r.string()
            dims = [r.take("Q") for _ in range(r.take("I"))]
            kind, offset = r.take("I"), r.take("Q")
            tensors.append((name, dims, kind, offset))
        alignment = int(meta.get("general.alignment", 32))
        data_start = (r.pos + alignment - 1) // alignment * alignment
        for name, dims, kind, offset in tensors:
            try:
                block, type_size = GGML_QUANT_SIZES[GGMLQuantizationType(kind)]
            except (ValueError, KeyError):
                raise UserError(f"{path}: tensor {name} has ggml type {kind}, which this loader cannot read") from None
            n = int(np.prod(dims)) if dims else 1
            if data_start + offset + n // block * type_size > size:
                raise _Truncated()
    except _Truncated:
        raise UserError(f"{path} is truncated ({size} bytes end inside its header or tensors): "
                        "the download or copy did not finish; fetch the file again") from None
    except (ValueError, UnicodeDecodeError, OverflowError, MemoryError) as err:
        raise UserError(f"{path} is not a readable GGUF file ({err}): fetch it again") from None
    finally:
        del blob
    arch = meta.get("general.architecture")
    if arch not in ARCHITECTURES:
        raise UserError(f"{path} holds a {arch!r} model; the GGUF loader converts "
                        f"{', '.join(ARCHITECTURES)} (for others, use the model's Hugging Face name)")
    if "tokenizer.chat_template" not in meta:
        raise UserError(f"{path} has no chat template: the emotion and neutral prompts need a chat (instruct) model")
    names = {t[0] for t in tensors}
    return GGUFInfo(path=path.resolve(), sha256=digest, architecture=arch,
                    name=str(meta.get("general.name", path.stem)), n_layers=int(meta.get(f"{arch}.block_count", 0)),
                    n_tensors=int(n_tensors), untied_output="output.weight" in names)


def read_hf(path: Path) -> tuple[Any, Any]:
    """The ``transformers`` model (eval mode, float32, CPU, eager attention) and tokenizer read
    from the GGUF at ``path``: what the conversion starts from, and the reference it must match."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32,
                                                 local_files_only=True, attn_implementation="eager")
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model.eval(), tokenizer


# --- the conversion ---------------------------------------------------------------------------


def _rope_theta(hf_config: Any, layer_type: str | None = None) -> float:
    params = getattr(hf_config, "rope_parameters", None) or {}
    if layer_type is not None and isinstance(params.get(layer_type), dict):
        params = params[layer_type]
    theta = params.get("rope_theta", getattr(hf_config, "rope_theta", None))
    if theta is None:
        raise UserError("the GGUF's config has no rope base (rope_theta)")
    rope_type = params.get("rope_type") or params.get("type") or "default"
    if rope_type != "default":
        raise UserError(f"the GGUF asks for rope scaling {rope_type!r}, which this loader does not convert")
    return float(theta)


def _common_fields(c: Any, name: str, architecture: str) -> dict[str, Any]:
    d_head = getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads
    return {
        "model_name": name,
        "original_architecture": architecture,
        "d_model": c.hidden_size,
        "d_head": d_head,
        "n_heads": c.num_attention_heads,
        "d_mlp": c.intermediate_size,
        "n_layers": c.num_hidden_layers,
        "n_ctx": min(int(c.max_position_embeddings), MAX_CTX),
        "eps": float(c.rms_norm_eps),
        "d_vocab": c.vocab_size,
        "normalization_type": "RMS",
        "positional_embedding_type": "rotary",
        "rotary_adjacent_pairs": False,
        "rotary_dim": d_head,
        "final_rms": True,
        "gated_mlp": True,
        "init_weights": False,
    }


def hooked_config_fields(hf_config: Any, name: str) -> dict[str, Any]:
    """``HookedTransformerConfig`` fields for ``hf_config`` (Llama, Qwen2 or Gemma 3 text), as
    TransformerLens's branch for that architecture sets them; JSON-serialisable, no device or dtype."""
    c = hf_config
    model_type = c.model_type
    if model_type == "llama":
        fields = _common_fields(c, name, "LlamaForCausalLM")
        n_kv = c.num_key_value_heads
        # TransformerLens switches to grouped-query attention whenever this is not None.
        fields.update(act_fn=c.hidden_act, rotary_base=_rope_theta(c),
                      n_key_value_heads=n_kv if n_kv != c.num_attention_heads else None)
        return fields
    if model_type == "qwen2":
        fields = _common_fields(c, name, "Qwen2ForCausalLM")
        fields.update(act_fn=c.hidden_act, rotary_base=_rope_theta(c), n_key_value_heads=c.num_key_value_heads,
                      use_attn_scale=True)
        return fields
    if model_type == "gemma3_text":
        fields = _common_fields(c, name, "Gemma3ForCausalLM")
        layer_types = list(c.layer_types)
        fields.update(
            act_fn=c.hidden_activation,
            n_key_value_heads=c.num_key_value_heads,
            use_attn_scale=True,
            attn_scale=float(c.query_pre_attn_scalar) ** 0.5,
            rotary_base=_rope_theta(c, "full_attention"),
            rotary_base_local=_rope_theta(c, "sliding_attention"),
            use_normalization_before_and_after=True,
            use_qk_norm=True,
            window_size=int(c.sliding_window),
            use_local_attn=True,
            attn_types=["local" if t == "sliding_attention" else "global" for t in layer_types],
        )
        if c.final_logit_softcapping is not None:
            fields["output_logits_soft_cap"] = float(c.final_logit_softcapping)
        if c.attn_logit_softcapping is not None:
            fields["attn_scores_soft_cap"] = float(c.attn_logit_softcapping)
        return fields
    raise UserError(f"model type {model_type!r} is not one the GGUF loader converts ({', '.join(ARCHITECTURES)})")


def _make_config(fields: dict[str, Any], device: str, dtype: torch.dtype) -> Any:
    from transformer_lens import HookedTransformerConfig

    return HookedTransformerConfig(**fields, device=device, dtype=dtype)


def convert(hf_model: Any, name: str) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Config fields and a TransformerLens state dict (fp32, CPU, contiguous) for ``hf_model``."""
    from transformer_lens.pretrained.weight_conversions import (
        convert_gemma_weights,
        convert_llama_weights,
        convert_qwen2_weights,
    )

    fields = hooked_config_fields(hf_model.config, name)
    cfg = _make_config(fields, "cpu", torch.float32)
    conversions = {"LlamaForCausalLM": convert_llama_weights, "Qwen2ForCausalLM": convert_qwen2_weights,
                   "Gemma3ForCausalLM": convert_gemma_weights}
    state_dict = conversions[fields["original_architecture"]](hf_model, cfg)
    if hf_model.config.tie_word_embeddings:
        # The conversion reads W_U from lm_head, which for a tied model is the embedding itself:
        # check that it is, since a GGUF without an output tensor relies on exactly that.
        if not torch.equal(hf_model.lm_head.weight, hf_model.model.embed_tokens.weight):
            raise RuntimeError("tie_word_embeddings is set but lm_head differs from embed_tokens")
    # The conversion returns rearranged views, and W_U is a view of W_E when embeddings are
    # tied; safetensors needs contiguous tensors with no shared storage.
    state_dict = {k: v.detach().to(torch.float32).contiguous().clone() for k, v in state_dict.items()}
    return fields, state_dict


def _build(fields: dict[str, Any], device: str, dtype: torch.dtype) -> Any:
    """An empty ``HookedTransformer`` for ``fields``. No tokenizer goes to TransformerLens: it
    cannot set up a GGUF or local-only tokenizer, and :class:`TLBackend` keeps the tokenizer itself."""
    from transformer_lens import HookedTransformer

    return HookedTransformer(_make_config(fields, device, dtype), move_to_device=True)


# --- the cache --------------------------------------------------------------------------------


@dataclass(frozen=True)
class GGUFModel:
    """One GGUF model to load: its name, where its (verified) file is, and how to read it.

    ``read`` defaults to :func:`read_hf` on ``locate()``; an instance may pass its own (tests
    substitute a reader to count reads)."""

    name: str
    locate: Callable[[], GGUFInfo]
    read: Callable[[], tuple[Any, Any]] | None = None

    def read_hf(self) -> tuple[Any, Any]:
        return self.read() if self.read is not None else read_hf(self.locate().path)

    def cache_path(self, info: GGUFInfo | None = None) -> Path:
        """One directory per format version and file (its sha256)."""
        info = info or self.locate()
        return cache_dir() / self.name / f"v{FORMAT_VERSION}-{info.sha256[:16]}"

    def hf_cache_path(self, info: GGUFInfo | None = None) -> Path:
        path = self.cache_path(info)
        return path.with_name(f"{path.name}-hf")


def _write_cache(model: GGUFModel, info: GGUFInfo, target: Path) -> None:
    """Convert the GGUF and write weights, config and tokenizer into ``target`` atomically.

    What is cached are the parameters of a ``HookedTransformer`` that went through
    ``load_and_process_state_dict`` with every processing step off, so a cached load is a plain
    ``load_state_dict`` of the model's own parameters."""
    from safetensors.torch import save_file

    start = time.perf_counter()
    log.info("converting %s from %s (one-off); cache: %s", model.name, info.path, target)
    log.info("reading and dequantising the GGUF with transformers")
    hf_model, tokenizer = model.read_hf()
    log.info("converting the weights to TransformerLens layout")
    fields, state_dict = convert(hf_model, model.name)
    del hf_model
    tl_model = _build(fields, "cpu", torch.float32)
    tl_model.load_and_process_state_dict(state_dict, fold_ln=False, center_writing_weights=False,
                                         center_unembed=False, fold_value_biases=False)
    params = {name: p.detach().contiguous() for name, p in tl_model.named_parameters()}

    def fill(tmp: Path) -> None:
        save_file(params, str(tmp / WEIGHTS_FILE), metadata={"format": str(FORMAT_VERSION)})
        meta = {"format": FORMAT_VERSION, **info.source(), "weights_sha256": sha256_file(tmp / WEIGHTS_FILE),
                "config": fields}
        (tmp / CONFIG_FILE).write_text(json.dumps(meta, indent=2))
        tokenizer.save_pretrained(tmp)

    _publish(target, fill)
    log.info("converted %s in %.1f s", model.name, time.perf_counter() - start)


def _publish(target: Path, fill: Callable[[Path], None]) -> None:
    """Write a cache directory atomically: ``fill(tmp)`` writes into a private temporary
    directory, which then replaces ``target`` in one rename (readable by everyone, whatever the
    umask). If another process published the same cache first, its copy is kept."""
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_orphans(target)
    tmp = target.parent / f".{target.name}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        tmp.chmod(0o755)
        log.info("writing the cache")
        fill(tmp)
        for f in tmp.iterdir():
            f.chmod(0o644)
        try:
            os.replace(tmp, target)
        except OSError:
            # Another process published the same cache first; its copy is as good as ours.
            if not target.is_dir() or not any(target.iterdir()):
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _remove_orphans(target: Path) -> None:
    """Remove what a conversion killed mid-way left beside ``target`` (a temporary directory
    named after its process, which no longer runs)."""
    for tmp in target.parent.glob(f".{target.name}.*.tmp"):
        pid = tmp.name.removeprefix(f".{target.name}.").removesuffix(".tmp")
        if pid.isdigit() and not _alive(int(pid)):
            log.info("removing %s, left by an interrupted conversion", tmp)
            shutil.rmtree(tmp, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class DamagedCache(Exception):
    """The cache directory does not hold what a finished conversion wrote."""


def _verified_meta(path: Path, meta_file: str = CONFIG_FILE, needs: tuple[str, ...] = ("config",)) -> dict:
    """The cache's metadata, after checking that its weights are the ones the conversion wrote."""
    try:
        meta = json.loads((path / meta_file).read_text())
        recorded = meta["weights_sha256"]
        for key in needs:
            meta[key]  # noqa: B018 - must be there
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise DamagedCache(f"{meta_file} unreadable ({type(err).__name__})") from None
    if not (path / WEIGHTS_FILE).is_file() or sha256_file(path / WEIGHTS_FILE) != recorded:
        raise DamagedCache(f"{WEIGHTS_FILE} differs from what the conversion wrote (sha256)")
    return meta


def _load_cached(model: GGUFModel, path: Path, device: str, dtype: torch.dtype) -> tuple[Any, Any]:
    """The ``HookedTransformer`` and tokenizer from a cache directory (verified)."""
    from safetensors.torch import load_file

    meta = _verified_meta(path)
    tl_model = _build(meta["config"], device, dtype)
    # One load_state_dict, not load_and_process_state_dict: the latter loads key by key, each
    # call walking all modules, which takes ~7 s on SmolLM2; the processing itself was done (as
    # a no-op) before the parameters were cached.
    result = tl_model.load_state_dict(load_file(str(path / WEIGHTS_FILE)), strict=False)
    params = dict(tl_model.named_parameters())
    missing = [k for k in result.missing_keys if k in params]
    if missing or result.unexpected_keys:
        raise UserError(f"the cached {model.name} in {path} does not fit the model (missing {missing[:3]}, "
                        f"unexpected {result.unexpected_keys[:3]}): delete that directory to reconvert")
    tokenizer = _load_tokenizer(path)
    return tl_model.eval(), tokenizer


def _load_tokenizer(path: Path) -> Any:
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError) as err:
        raise DamagedCache(f"the tokenizer does not load ({type(err).__name__})") from None
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def _cached(name: str, path: Path, marker: str, write: Callable[[Path], None], load: Callable[[Path], Any]) -> Any:
    """``load(path)``, after ``write(path)`` if the cache is missing; a damaged cache is written
    again once."""
    if not (path / marker).is_file():
        write(path)
    try:
        return load(path)
    except DamagedCache as err:
        log.warning("the cached %s in %s is damaged (%s): converting it again", name, path, err)
        shutil.rmtree(path)
        write(path)
        return load(path)


def _write_hf_cache(model: GGUFModel, info: GGUFInfo, target: Path) -> None:
    """Read the GGUF with ``transformers`` and save the model and tokenizer into ``target`` atomically."""
    from safetensors.torch import save_file

    start = time.perf_counter()
    log.info("reading %s from %s with transformers (one-off); cache: %s", model.name, info.path, target)
    hf_model, tokenizer = model.read_hf()
    # save_pretrained refuses a model read from a GGUF ("quantized with gguf"), although the
    # weights are plain fp32 by now: write what it would, the config and the weights, by hand.
    config = hf_model.config.to_dict()
    config.pop("quantization_config", None)
    state = {k: v.detach().contiguous() for k, v in hf_model.state_dict().items()}
    if hf_model.config.tie_word_embeddings:
        state.pop("lm_head.weight", None)  # the embedding itself: tied again when loaded

    def fill(tmp: Path) -> None:
        (tmp / "config.json").write_text(json.dumps(config, indent=2, default=str))
        save_file(state, str(tmp / WEIGHTS_FILE), metadata={"format": "pt"})
        tokenizer.save_pretrained(tmp)
        meta = {"format": FORMAT_VERSION, **info.source(), "weights_sha256": sha256_file(tmp / WEIGHTS_FILE)}
        (tmp / HF_META_FILE).write_text(json.dumps(meta, indent=2))

    _publish(target, fill)
    log.info("cached %s for transformers in %.1f s", model.name, time.perf_counter() - start)


def _load_hf_cached(path: Path, device: str, dtype: torch.dtype) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM

    _verified_meta(path, HF_META_FILE, needs=())
    try:
        hf_model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, local_files_only=True,
                                                        attn_implementation="eager")
    except (OSError, ValueError) as err:
        raise DamagedCache(f"the model does not load ({type(err).__name__})") from None
    return hf_model.to(device).eval(), _load_tokenizer(path)


def load_hf_cached(model: GGUFModel, device: str = "cpu", dtype: torch.dtype = torch.float32,
                   info: GGUFInfo | None = None) -> tuple[Any, Any]:
    """The ``transformers`` model (eager attention, eval mode) and tokenizer of ``model``, read
    from the GGUF once and cached (verified by sha256 on every load): what the bridge backend wraps."""
    info = info or model.locate()
    return _cached(model.name, model.hf_cache_path(info), HF_META_FILE,
                   lambda path: _write_hf_cache(model, info, path),
                   lambda path: _load_hf_cached(path, device, dtype))


def load_cached(model: GGUFModel, device: str = "cpu", dtype: torch.dtype = torch.float32,
                info: GGUFInfo | None = None) -> tuple[Any, Any]:
    """The ``HookedTransformer`` and tokenizer of ``model``; converts and caches on first use."""
    info = info or model.locate()
    return _cached(model.name, model.cache_path(info), CONFIG_FILE,
                   lambda path: _write_cache(model, info, path),
                   lambda path: _load_cached(model, path, device, dtype))


def backend_for(model: GGUFModel, device: str = "cpu", dtype: torch.dtype = torch.float32,
                backend: BackendKind = BackendKind.HOOKED) -> HookPointBackend:
    """``model`` as a :class:`TLBackend` (or, with ``backend=bridge``, a
    :class:`~circuits.model.bridge.BridgeBackend`), with the file it came from as its ``source``."""
    info = model.locate()
    if backend is BackendKind.BRIDGE:
        from circuits.model.bridge import BridgeBackend, bridge_from_hf

        hf_model, tokenizer = load_hf_cached(model, device, dtype, info)
        out: HookPointBackend = BridgeBackend(model.name, bridge_from_hf(hf_model, tokenizer, model.name, dtype),
                                              tokenizer, stop_token_ids(tokenizer))
    else:
        tl_model, tokenizer = load_cached(model, device, dtype, info)
        out = TLBackend(model.name, tl_model, tokenizer, stop_token_ids(tokenizer))
    out.source = info.source()
    return out


def model_name_for(path: str | Path) -> str:
    """The name a GGUF file's model goes by in logs, caches and run directories: its file name
    without ``.gguf``."""
    return Path(path).name.removesuffix(".gguf")


def load_gguf(path: str | Path, device: str = "cpu", dtype: torch.dtype = torch.float32,
              backend: BackendKind = BackendKind.HOOKED, expected_sha256: str | None = None) -> HookPointBackend:
    """The GGUF chat model at ``path`` (checked by :func:`inspect_gguf`; its sha256 must be
    ``expected_sha256`` when given); converts and caches on first use."""
    info = inspect_gguf(path, expected_sha256)
    return backend_for(GGUFModel(model_name_for(path), lambda: info), device, dtype, backend)
