"""Stage ``train_emo_tiny``: train the testbed's judge and model from scratch, then measure them.

It has no loader: it retrains whenever it is asked for (its checkpoint may live outside the run
directory, ``make emo-tiny`` writes it into the package, where the manifest cannot vouch for it).

Writes the checkpoint (``train.out_dir``, default ``<run>/train_emo_tiny/checkpoint``; ``make
emo-tiny`` points it at the package), the loss curve, the judge's own accuracy, and the
testbed's expression and probe numbers (:mod:`circuits.testbed.evaluate`).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from circuits import layout
from circuits.artifacts import atomic_write_bytes, dumps_json
from circuits.data.sev import SEVSplit, load_sev
from circuits.data.splits import STUDY_FILES
from circuits.evaluation.accuracy import judge_agreement
from circuits.evaluation.judges import NRCJudge
from circuits.evaluation.offline_judge import JUDGE_FILE, OfflineJudge
from circuits.evaluation.records import JudgedReply
from circuits.generation import Decoding
from circuits.model.backend import Backend
from circuits.model.emo_tiny import load_checkpoint_dir
from circuits.paths import PROJECT_SEV_DIR, shared_sev_dir
from circuits.stages.context import RunContext
from circuits.testbed import evaluate
from circuits.testbed.judge_data import judge_datasets
from circuits.testbed.train import train
from circuits.viz import plots
from circuits.vocab import Split, Template

log = logging.getLogger(__name__)

EVAL_SUBSET = 6
"""Skeletons per theme for the secondary evaluations (user template, the study's test file)."""


def _judge_metrics(seed: int) -> tuple[OfflineJudge, dict]:
    from sklearn.metrics import confusion_matrix

    data = judge_datasets(seed)
    judge = OfflineJudge.train(*data["train"])
    texts, labels = data["test"]
    pred = judge.classify(texts)
    probe = OfflineJudge.train(*data["train_seen"])
    h_texts, h_labels = data["test_heldout"]
    h_pred = probe.classify(h_texts)
    metrics = {
        "n_train": len(data["train"][0]),
        "accuracy_unseen_content": round(100 * sum(p == y for p, y in zip(pred, labels)) / len(labels), 2),
        "accuracy_unseen_phrasings": round(100 * sum(p == y for p, y in zip(h_pred, h_labels)) / len(h_labels), 2),
        "labels": list(judge.labels),
        "confusion_unseen_phrasings": confusion_matrix(h_labels, h_pred, labels=list(judge.labels)).tolist(),
    }
    return judge, metrics


def _evaluate(ctx: RunContext, model: Backend, judge: OfflineJudge, test: SEVSplit) -> tuple[dict, list[JudgedReply]]:
    """Expression on the project's test split (the study's template on all of it, the user turn
    on a subset) and on the study's test file when it is beside the checkout; the replies."""
    decoding = Decoding(max_new_tokens=ctx.cfg.decoding.max_new_tokens, batch_size=ctx.cfg.decoding.batch_size)
    expression, records = {}, []
    for template, split in ((Template.SYSTEM, test), (Template.USER, test.subset(EVAL_SUBSET))):
        m, recs = evaluate.expression(model, judge, split, decoding, template, progress=ctx.cfg.progress)
        expression[f"{split.name}/{template.value}"] = m
        records += recs
    study_path = shared_sev_dir() / STUDY_FILES[Split.TEST]
    if study_path.is_file():
        study = load_sev(study_path, name="study_test").subset(EVAL_SUBSET)
        m, recs = evaluate.expression(model, judge, study, decoding, Template.SYSTEM, progress=ctx.cfg.progress)
        expression[f"{study.name}/system"] = m
        records += [r.with_(split="study_test") for r in recs]
    return expression, records


def run(ctx: RunContext) -> dict:
    tcfg = ctx.cfg.train
    out = Path(tcfg.out_dir) if tcfg.out_dir else ctx.run.path(layout.TRAIN.checkpoint.path())
    out.mkdir(parents=True, exist_ok=True)
    log.info("training the offline judge")
    judge, judge_m = _judge_metrics(tcfg.seed)
    atomic_write_bytes(out / JUDGE_FILE, dumps_json(judge.to_json()).encode())
    log.info("judge: %.2f%% on unseen content, %.2f%% on unseen phrasings",
             judge_m["accuracy_unseen_content"], judge_m["accuracy_unseen_phrasings"])
    result = train(tcfg, out, progress=ctx.cfg.progress)
    ctx.run.save_figure(layout.TRAIN.loss_figure.path(), plots.loss_figure(result.losses))
    ctx.run.write_json(layout.TRAIN.losses.path(), {"losses": [round(x, 7) for x in result.losses]})

    model = load_checkpoint_dir(out, "emo-tiny")
    t0 = time.perf_counter()
    test = load_sev(PROJECT_SEV_DIR / "test.jsonl", name="test")
    expression, records = _evaluate(ctx, model, judge, test)
    probe = evaluate.probe_profile(model, test, Template.SYSTEM)
    agreement = judge_agreement([r.label for r in records], NRCJudge().classify([r.reply for r in records]))
    ctx.run.write_jsonl(layout.TRAIN.replies.path(), records)
    metrics = {
        "train": {"steps": len(result.losses), "seconds": round(result.seconds, 1), "tokens": result.tokens,
                  "final_loss": round(sum(result.losses[-50:]) / min(50, len(result.losses)), 4),
                  "checkpoint": str(out),
                  "checkpoint_mb": round(sum(f.stat().st_size for f in out.iterdir()) / 2**20, 2)},
        "judge": judge_m,
        "expression": expression,
        "probe": probe,
        "judge_vs_nrc_on_model_replies": agreement,
        "eval_seconds": round(time.perf_counter() - t0, 1),
    }
    ctx.run.add_metrics("train_emo_tiny", metrics)
    for line in evaluate.summary_lines(metrics):
        log.info(line)
        print(line)
    return metrics
