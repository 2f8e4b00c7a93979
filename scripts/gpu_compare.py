"""GPU check, part (c): emo-tiny on CUDA agrees with emo-tiny on the CPU (see scripts/gpu_check.sh).

On the same discovery prompts: where ``model.device=auto`` puts the model, the logits of a padded
batch (max abs difference over real positions; same argmax), greedy replies (same text), and
the emotion directions (cosine between the CPU and the CUDA vector of each emotion x read-out).
Each comparison runs on its own, so one failing does not hide the others. Without CUDA it
compares the CPU with itself (a dry run). Prints one ``RESULT`` JSON line; exit code 1 if any
comparison failed or disagreed.

    python scripts/gpu_compare.py [--per-theme N] [--max-new-tokens N] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import traceback
from pathlib import Path

import torch

from circuits.artifacts import RunDir
from circuits.directions.extract import extract_directions
from circuits.generation import Decoding, generate
from circuits.model.loading import load_model
from circuits.run import compose
from circuits.stages.context import RunContext
from circuits.vocab import Split

LOGIT_TOL = 1e-3
COSINE_MIN = 0.9999


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-theme", type=int, default=1)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()

    res: dict = {"torch": torch.__version__, "cuda_available": torch.cuda.is_available()}
    if torch.cuda.is_available():
        res["gpu"] = torch.cuda.get_device_name(0)
    cfg = compose(["experiment=smoke", f"data.per_theme={args.per_theme}"])
    ctx = RunContext(cfg, RunDir(Path(tempfile.mkdtemp(prefix="gpu_compare_"))))
    res["auto_device"] = ctx.device
    t = time.perf_counter()
    gpu = ctx.model
    res["auto_model_device"] = str(gpu.device)
    res["load_s"] = round(time.perf_counter() - t, 2)
    cpu = load_model(cfg.model.name, device="cpu", dtype=cfg.model.dtype)
    print(f"model.device=auto -> {ctx.device}; emo-tiny parameters on {gpu.device}", flush=True)

    prompts = ctx.prompts(ctx.split(Split.DISCOVERY), ctx.emotions)
    texts = [p.text for p in prompts]
    res["n_prompts"] = len(texts)
    failed: list[str] = []

    def check(name, fn):
        t0 = time.perf_counter()
        try:
            out = fn()
            ok = out.pop("ok")
        except Exception as err:  # report and go on with the other comparisons
            traceback.print_exc()
            out, ok = {"error": f"{type(err).__name__}: {err}"}, False
        out["seconds"] = round(time.perf_counter() - t0, 2)
        res[name] = out
        if not ok:
            failed.append(name)
        print(f"{name}: {'ok' if ok else 'FAILED'} {json.dumps(out)}", flush=True)

    def logits():
        batch = cpu.encode(texts[:16])
        with torch.inference_mode():
            a = cpu.forward(batch.tokens, batch.attention_mask)
            b = gpu.forward(batch.tokens.to(gpu.device), batch.attention_mask.to(gpu.device)).cpu()
        real = batch.attention_mask.bool()
        diff = (a - b).abs()[real]
        same_argmax = (a.argmax(-1) == b.argmax(-1))[real].float().mean().item()
        out = {"prompts": len(batch), "max_abs_diff": diff.max().item(), "mean_abs_diff": diff.mean().item(),
               "logit_scale": a[real].abs().max().item(), "argmax_agreement": same_argmax}
        out["ok"] = out["max_abs_diff"] < LOGIT_TOL and same_argmax == 1.0
        return out

    def replies():
        dec = Decoding(max_new_tokens=args.max_new_tokens, batch_size=cfg.decoding.batch_size)
        sub = texts[:24]
        a = generate(cpu, sub, dec, progress=False)
        b = generate(gpu, sub, dec, progress=False)
        same = [x.token_ids == y.token_ids for x, y in zip(a, b)]
        out = {"prompts": len(sub), "identical": sum(same), "example_cpu": a[0].text, "example_gpu": b[0].text}
        out["ok"] = all(same)
        return out

    def directions():
        kw = dict(batch_size=cfg.decoding.batch_size, keep_samples=False, seed=cfg.seed)
        da = extract_directions(cpu, prompts, ctx.emotions, **kw).directions
        db = extract_directions(gpu, prompts, ctx.emotions, **kw).directions
        cos = (da.vectors * db.vectors.to(da.vectors)).sum(-1)
        rms = (da.rms - db.rms.to(da.rms)).abs().max().item()
        out = {"groups": da.n_groups, "vectors_device": str(db.vectors.device), "min_cosine": cos.min().item(),
               "mean_cosine": cos.mean().item(), "rms_max_abs_diff": rms}
        out["ok"] = out["min_cosine"] > COSINE_MIN
        return out

    check("logits", logits)
    check("greedy_replies", replies)
    check("directions", directions)
    res["failed"] = failed
    print("RESULT " + json.dumps(res), flush=True)
    if args.out:
        args.out.write_text(json.dumps(res, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
