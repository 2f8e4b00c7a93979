"""The runner's configuration: every experiment composes; bad input fails early and clearly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from circuits.errors import UserError
from circuits.paths import CONF_DIR, REPO_DIR
from circuits.run import compose

EXPERIMENTS = sorted(p.stem for p in (CONF_DIR / "experiment").glob("*.yaml"))


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_composes(name):
    cfg = compose([f"experiment={name}"])
    assert cfg.experiment.name == name
    assert cfg.experiment.stages


@pytest.mark.parametrize("model", ["emo-tiny", "smollm2-135m-instruct", "qwen2.5-coder-0.5b-instruct"])
def test_embedded_models_compose(model):
    assert compose([f"model={model}"]).model.name == model


def test_a_model_sizing_applies_to_its_experiment_only():
    """experiment=reproduce_real picks up sizing/reproduce_real--<model>.yaml when the model has one."""
    qwen = compose(["experiment=reproduce_real", "model=qwen2.5-coder-0.5b-instruct"])
    smol = compose(["experiment=reproduce_real"])
    assert qwen.model.template.value == "user" and qwen.decoding.max_new_tokens == 24 and qwen.circuit.alphas == [0.5]
    assert smol.model.name == "smollm2-135m-instruct" and smol.decoding.max_new_tokens == 32
    assert compose(["model=qwen2.5-coder-0.5b-instruct"]).decoding.max_new_tokens == 48  # not outside it


def test_pretrained_name_maps_to_pretrained_group():
    cfg = compose(["model=meta-llama/Llama-3.2-3B-Instruct"])
    assert cfg.model.name == "meta-llama/Llama-3.2-3B-Instruct"


@pytest.mark.parametrize(
    "overrides, fragment",
    [
        (["+nonsense=1"], "nonsense"),
        (["model.nonsense=1"], "nonsense"),
        (["emotions=[anger,joy]"], "'joy'"),
        (["data.source=files", "data.discovery=/no/such/file.jsonl", "data.test=/no/such/t.jsonl"], "/no/such/file.jsonl"),
        (["decoding.batch_size=0"], "decoding.batch_size"),
        (["experiment.stages=[smoke,dance]"], "'dance'"),
        (["judge.kind=oracle"], "'oracle'"),
        (["model.template=shout"], "'shout'"),
        (["model.backend=jax"], "'jax'"),
        (["model.backend=bridge"], "emo-tiny exists only as a HookedTransformer"),
        (["seed=abc"], "seed"),
        (["steering.layers=[1,7]"], "layer 7"),
        (["reference.segment=[2,9]"], "layer 9"),
        (["modulate.scales={joy: 1.0}"], "'joy'"),
        (["modulate.anchor=centre"], "'centre'"),
        (["modulate.random_draws=0"], "modulate.random_draws"),
        (["modulate.reply_steps_grid=[null,0]"], "modulate.reply_steps_grid"),
        (["modulate.reply_steps_grid=[]"], "modulate.reply_steps_grid"),
        (["modulate.reply_steps=-1"], "modulate.reply_steps"),
        (["data.source=study", "+data.nope=1"], "nope"),
        (["model=gguf"], "model=gguf needs the file: add model.path=<file.gguf>"),
        (["model=gguf", "model.path=/no/such/model.gguf"], "/no/such/model.gguf does not exist"),
        (["model.path=/no/such/model.gguf"], "model.path is only for model=gguf"),
    ],
)
def test_bad_config_is_one_clear_user_error(overrides, fragment):
    with pytest.raises(UserError) as info:
        compose(overrides)
    msg = str(info.value)
    assert fragment in msg and "\n" not in msg


def _cli(*args: str, cwd: Path = REPO_DIR, **env):
    import os

    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", **env}
    return subprocess.run([sys.executable, "-m", "circuits.run", *args], capture_output=True, text=True,
                          cwd=cwd, env=full_env, timeout=300)


def test_cli_bad_input_exit_2_one_line_no_traceback_no_artifacts(tmp_path):
    out = tmp_path / "run"
    res = _cli("experiment=smoke", "emotions=[anger,joy]", f"out_dir={out}")
    assert res.returncode == 2
    err_lines = [line for line in res.stderr.strip().splitlines() if line.strip()]
    assert len(err_lines) == 1 and "joy" in err_lines[0]
    assert "Traceback" not in res.stderr
    assert not out.exists()


def test_cli_unknown_model_offline_is_clear(tmp_path):
    res = _cli("experiment=smoke", "model=not-a-real/model-xyz", f"out_dir={tmp_path / 'r'}")
    assert res.returncode == 2
    assert "not-a-real/model-xyz" in res.stderr and "Traceback" not in res.stderr
    manifest = tmp_path / "r" / "manifest.json"
    if manifest.exists():
        import json

        stages = json.loads(manifest.read_text())["stages"]
        assert all(s["status"] != "done" for s in stages.values())
