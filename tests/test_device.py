"""The CUDA path, checked on the CPU: a model whose tensors are *labelled* as on the GPU.

``FakeCuda`` is a ``TorchFunctionMode`` that computes everything on the CPU but tracks which
tensors would live on ``cuda``: the model's parameters and buffers, tensors created with
``device=<a cuda tensor's device>``, ``.to(cuda_tensor)``, and everything computed from them.
It records every op that would fail on a real GPU: CPU and CUDA tensors mixed in one op (a
0-dim CPU tensor is allowed, as in PyTorch), a CUDA index into a CPU tensor, and ``.numpy()`` of
a CUDA tensor. The library's functions that run the model are called on such a model with their
inputs as the stages pass them (directions and scores on the CPU, as when loaded from disk).
``scripts/gpu_check.sh`` runs the real thing on a GPU.
"""

from __future__ import annotations

import traceback
from collections import Counter

import pytest
import torch
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_leaves, tree_map

_TAG = "_fake_cuda"
_CUDA = torch.device("cuda", 0)
_FACTORIES = {
    torch.zeros, torch.ones, torch.empty, torch.full, torch.arange, torch.tensor, torch.randn, torch.rand,
    torch.randint, torch.eye, torch.linspace, torch.as_tensor, torch.randperm, torch.scalar_tensor,
    torch.empty_strided, torch.logspace,
}
_LIKE = {torch.zeros_like, torch.ones_like, torch.empty_like, torch.full_like, torch.rand_like, torch.randn_like,
         torch.Tensor.new_zeros, torch.Tensor.new_ones, torch.Tensor.new_empty, torch.Tensor.new_full,
         torch.Tensor.new_tensor}
_TO_NUMPY = {torch.Tensor.numpy, torch.Tensor.__array__}
_INPLACE_DUNDER = {f"__i{op}__" for op in ("add", "sub", "mul", "truediv", "floordiv", "pow", "and", "or", "xor",
                                            "lshift", "rshift", "matmul", "mod")}


def _fake(t) -> bool:
    return isinstance(t, torch.Tensor) and t.__dict__.get(_TAG, False)


def _tag(t):
    if isinstance(t, torch.Tensor):
        setattr(t, _TAG, True)
    return t


def _untagged(out, src):
    if out is src:
        out = out.clone()
    out.__dict__.pop(_TAG, None)
    return out


def _inplace(func) -> bool:
    name = getattr(func, "__name__", "")
    return (name.endswith("_") and not name.endswith("__")) or name in _INPLACE_DUNDER


def _cuda_device(d) -> bool | None:
    if d is None:
        return None
    return isinstance(d, int) or torch.device(d).type == "cuda"


class FakeCuda(TorchFunctionMode):
    """Record device mixing as it would happen on a GPU (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.violations: Counter = Counter()

    def _flag(self, kind: str) -> None:
        frames = [f for f in traceback.extract_stack()[:-2] if "/circuits/" in f.filename]
        where = f"{frames[-1].filename.split('/circuits/')[-1]}:{frames[-1].lineno}" if frames else "?"
        self.violations[f"{kind} at {where}"] += 1

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        owner = getattr(func, "__self__", None)
        if owner is torch.Tensor.device:
            return _CUDA if _fake(args[0]) else func(*args, **kwargs)
        if owner is torch.Tensor.is_cuda:
            return _fake(args[0])
        if func in _TO_NUMPY:
            if _fake(args[0]):
                self._flag("numpy() of a cuda tensor")
            return func(*args, **kwargs)
        want = _cuda_device(kwargs.get("device"))
        if want:
            kwargs["device"] = "cpu"
        if func is torch.Tensor.to:
            return self._to(args, kwargs, want)
        if func is torch.Tensor.cuda:
            return _tag(args[0].clone())
        if func is torch.Tensor.cpu:
            return _untagged(func(*args, **kwargs), args[0]) if _fake(args[0]) else func(*args, **kwargs)
        tensors = [t for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)]
        out = func(*args, **kwargs)
        if func in _FACTORIES or func in _LIKE:
            if want or (want is None and func in _LIKE and _fake(args[0])):
                tree_map(_tag, out)
            return out
        if any(_fake(t) for t in tensors) and func is not torch.Tensor.copy_:
            real = [t for t in tensors if not _fake(t)]
            if func is torch.Tensor.__getitem__:
                if not _fake(args[0]):
                    self._flag("cuda index into a cpu tensor")
            elif func is torch.Tensor.__setitem__:
                advanced = any(isinstance(t, torch.Tensor) for t in tree_leaves(args[1]))
                if advanced and not _fake(args[0]):
                    self._flag("cuda values written into a cpu tensor")
            elif any(t.ndim > 0 for t in real) or (real and _inplace(func) and not _fake(args[0])):
                self._flag(f"cpu and cuda tensors in {func.__name__}")
            if want is not False and not (_inplace(func) and not _fake(args[0])):
                tree_map(_tag, out)
        elif want:
            tree_map(_tag, out)
        return out

    def _to(self, args, kwargs, want):
        src, rest = args[0], list(args[1:])
        kwargs.pop("device", None)
        if rest and isinstance(rest[0], torch.Tensor):
            other = rest.pop(0)
            want = _fake(other)
            kwargs.setdefault("dtype", other.dtype)
        elif rest and isinstance(rest[0], torch.dtype):
            kwargs.setdefault("dtype", rest.pop(0))
        elif rest:
            d = rest.pop(0)
            want = _cuda_device(d) if d is not None else want
            if rest and (rest[0] is None or isinstance(rest[0], torch.dtype)):
                dtype = rest.pop(0)
                if dtype is not None:
                    kwargs.setdefault("dtype", dtype)
        for name, value in zip(("non_blocking", "copy"), rest):
            kwargs.setdefault(name, value)
        out = torch.Tensor.to(src, **kwargs)
        if want is None or want == _fake(src):
            return _tag(out) if _fake(src) else out
        return _tag(out.clone() if out is src else out) if want else _untagged(out, src)


@pytest.fixture
def gpu_model():
    """A 2-layer random model (emo-tiny's tokenizer) labelled as on ``cuda``."""
    from circuits.model.emo_tiny import END, build_tl_model, make_tokenizer
    from circuits.model.hooked import TLBackend
    from circuits.paths import EMO_TINY_DIR

    tok = make_tokenizer(EMO_TINY_DIR / "tokenizer.json")
    torch.manual_seed(0)
    arch = {"n_layers": 2, "d_model": 64, "n_heads": 4, "d_mlp": 128, "d_vocab": len(tok), "n_ctx": 256}
    model = TLBackend("tiny-random", build_tl_model(arch), tok, [tok.convert_tokens_to_ids(END)])
    for t in [*model.tl.parameters(), *model.tl.buffers()]:
        _tag(t)
    model.tl.cfg.device = "cuda"
    return model


def test_fake_cuda_sees_what_a_gpu_refuses(gpu_model):
    with FakeCuda() as mode:
        x = torch.zeros(3, device=gpu_model.device)
        acc = torch.zeros(3)
        acc += x  # a CUDA tensor added into a CPU one
        x.numpy()
        acc += x.cpu()  # fine
        x += torch.tensor(2.0)  # a 0-dim CPU tensor is fine
        y = x + acc.to(x)  # fine
        assert y.device.type == "cuda" and x.is_cuda and not acc.is_cuda
    assert sorted(k.split(" at ")[0] for k in mode.violations) == ["cpu and cuda tensors in add_",
                                                                   "numpy() of a cuda tensor"]


def _prompts(model):
    from circuits.data.prompts import build_prompts
    from circuits.data.splits import project_split
    from circuits.emotions import EMOTIONS
    from circuits.vocab import Template

    split = project_split("discovery", 1)
    return build_prompts(model.render_chat, split, EMOTIONS, Template.SYSTEM)[: 6 * len(EMOTIONS)], EMOTIONS


def test_model_facing_functions_keep_to_one_device(gpu_model):
    """Directions, neuron scores, attribution, importance, validation and steering with a model
    on the GPU and their inputs on the CPU (as the stages load them); the results the stages save
    and reload come back on the CPU, as they are after a reload."""
    from circuits.attribution.gradients import attribution_patching
    from circuits.attribution.heads import HeadTargets, exact_head_effects
    from circuits.attribution.neurons import neuron_scores
    from circuits.attribution.validation import final_projection
    from circuits.circuit.importance import injection_importance, patching_importance, readout_rms
    from circuits.directions.evidence import evidence
    from circuits.directions.extract import extract_directions
    from circuits.generation import Decoding, generate
    from circuits.interventions import AddVector
    from circuits.sites import ReadOut, ResidSite
    from circuits.vocab import Ablation, Metric, Positions

    model = gpu_model
    prompts, emotions = _prompts(model)
    texts = [p.text for p in prompts]
    with FakeCuda() as mode:
        ex = extract_directions(model, prompts, emotions, keep_samples=True)
        d = ex.directions
        on_cuda = {"directions": d.vectors.is_cuda or d.rms.is_cuda}
        evidence(ex, probes=True)
        on_cuda["neuron scores"] = neuron_scores(model, prompts, d).scores.is_cuda
        batch = model.encode(texts[:4])
        v_ref = d.vector(emotions[0], ResidSite(model.info.n_layers - 1, ReadOut.RESID_POST))
        same = torch.stack([d.vector(emotions[0], ResidSite(layer, ReadOut.RESID_MID))
                            for layer in range(model.info.n_layers)])
        on_cuda["attribution"] = attribution_patching(model, batch, v_ref, Ablation.ZERO).heads.is_cuda
        exact_head_effects(model, batch, HeadTargets(same, v_ref), Ablation.ZERO, None,
                           (Metric.SAME_LAYER, Metric.FINAL))
        sigma = readout_rms(model, [batch])
        injection_importance(model, batch, d.vectors[0], v_ref, sigma, [0.5, 1.0])
        patching_importance(model, batch, model.encode(texts[4:8]), v_ref)
        final_projection(model, [batch], v_ref)
        site = ResidSite(0, ReadOut.RESID_POST)
        with model.hooks([(site, AddVector(v_ref, Positions.LAST, 2.0, rms_scaled=True))]):
            generate(model, texts[:2], Decoding(max_new_tokens=4), progress=False)
    assert not mode.violations, "\n".join(f"{n} x {k}" for k, n in mode.violations.items())
    assert not any(on_cuda.values()), f"results left on the GPU (loaded ones are on the CPU): {on_cuda}"
