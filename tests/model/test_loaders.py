"""The emo-tiny loader refuses a checkpoint that is incomplete, damaged or does not fit its
architecture, with one line; it never loads a partly random model."""

from __future__ import annotations

import json
import shutil

import pytest
from safetensors.torch import load_file, save_file

from circuits.errors import UserError
from circuits.model.emo_tiny import load_checkpoint_dir
from circuits.paths import EMO_TINY_DIR


@pytest.fixture
def checkpoint(tmp_path):
    dst = tmp_path / "checkpoint"
    shutil.copytree(EMO_TINY_DIR, dst)
    return dst


def _without_block(path, block: str) -> None:
    state = load_file(str(path / "model.safetensors"))
    save_file({k: v for k, v in state.items() if not k.startswith(block)}, str(path / "model.safetensors"))


def _truncate(name: str):
    def damage(path):
        data = (path / name).read_bytes()
        (path / name).write_bytes(data[: len(data) // 3])
    return damage


def _wider(path) -> None:
    arch = json.loads((path / "config.json").read_text())
    arch["d_mlp"] *= 2
    (path / "config.json").write_text(json.dumps(arch))


@pytest.mark.parametrize(("damage", "fragment"), [
    (lambda p: _without_block(p, "blocks.1."), "missing ['blocks.1."),
    (_truncate("model.safetensors"), "model.safetensors is damaged"),
    (_truncate("config.json"), "config.json is damaged"),
    (_truncate("tokenizer.json"), "tokenizer.json is damaged"),
    (_wider, "wrong shape"),
    (lambda p: (p / "tokenizer.json").unlink(), "missing tokenizer.json"),
], ids=["missing block", "truncated weights", "truncated config", "truncated tokenizer", "shape mismatch",
        "missing file"])
def test_a_broken_checkpoint_is_refused_with_one_line(checkpoint, damage, fragment):
    damage(checkpoint)
    with pytest.raises(UserError) as info:
        load_checkpoint_dir(checkpoint, "emo-tiny")
    message = str(info.value)
    assert fragment in message and "\n" not in message and "retrain it" in message


def test_the_shipped_checkpoint_loads_every_parameter(checkpoint):
    model = load_checkpoint_dir(checkpoint, "emo-tiny")
    state = load_file(str(checkpoint / "model.safetensors"))
    assert set(state) == {k for k, _ in model.tl.named_parameters()}
