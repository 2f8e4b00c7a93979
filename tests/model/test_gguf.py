"""The GGUF loader on tiny synthetic files of each architecture it converts (written by
``conftest.write_gguf`` the way llama.cpp writes real ones): parity with ``transformers`` reading
the same file, the file's own tokenizer and chat template, untied output weights, the cache, the
manifest's sha256, and one clear line for every bad file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from circuits.artifacts import sha256_file
from circuits.errors import UserError
from circuits.model import gguf
from circuits.model.loading import load_model

ARCHS = ["llama", "qwen2", "gemma3"]
CHATS = [
    [{"role": "user", "content": "the heron sat in the rain near the shore, then again and again"}],
    [{"role": "system", "content": "Always answer in anger."}, {"role": "user", "content": "Is the train late?"}],
    [{"role": "user", "content": "hi"}],
]


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIRCUITS_CACHE", str(tmp_path_factory.getbasetemp() / "gguf-cache"))


@pytest.fixture(scope="module", params=ARCHS)
def arch(request) -> str:
    return request.param


def _reference_logits(path: Path, texts: list[str]) -> list[torch.Tensor]:
    hf_model, tok = gguf.read_hf(path)
    out = []
    with torch.no_grad():
        for text in texts:
            ids = tok(text, add_special_tokens=False)["input_ids"]
            out.append(hf_model(input_ids=torch.tensor([ids])).logits[0])
    return out


def test_logits_match_transformers_reading_the_same_file(synthetic_gguf, arch: str) -> None:
    path, written = synthetic_gguf(arch)
    model = gguf.load_gguf(path)
    texts = [model.render_chat(chat) for chat in CHATS]
    batch = model.encode(texts)
    assert len(set(batch.lengths.tolist())) > 1, "prompts of one length would test no padding"
    if arch == "gemma3":
        assert max(batch.lengths.tolist()) > written.config.sliding_window, "the local window must be exercised"
    with torch.no_grad():
        logits = model.forward(batch.tokens, batch.attention_mask)
    worst = 0.0
    for row, expected in enumerate(_reference_logits(path, texts)):
        real = batch.attention_mask[row].bool()
        worst = max(worst, (logits[row, real] - expected).abs().max().item())
        with torch.no_grad():  # and the model the file was written from
            original = written(input_ids=batch.tokens[row, real][None]).logits[0]
        assert (logits[row, real] - original).abs().max().item() <= 1e-3
    assert worst <= 1e-3, f"{arch}: max |logit difference| {worst:.2e}"


def test_tokenizer_and_chat_template_come_from_the_file(synthetic_gguf, arch: str) -> None:
    path, _ = synthetic_gguf(arch)
    model = gguf.load_gguf(path)
    text = model.render_chat(CHATS[1])
    assert text == ("<|im_start|>system\nAlways answer in anger.<|im_end|>\n<|im_start|>user\nIs the train late?"
                    "<|im_end|>\n<|im_start|>assistant\n")
    ids = model.token_ids(text)
    vocab = model.tokenizer.get_vocab()
    assert ids[0] == vocab["<|im_start|>"], "control tokens stay whole"
    assert model.tokenizer.convert_tokens_to_ids("<|im_end|>") in model.stop_token_ids
    the = vocab["Ġthe"] if "Ġthe" in vocab else vocab["\u2581the"]  # byte-level BPE or sentencepiece
    assert the in model.token_ids("the heron and the rain"), "the file's merges are used"


def test_untied_output_weights_are_the_files_own(synthetic_gguf) -> None:
    for arch, untied in (("qwen2", True), ("llama", False)):
        path, written = synthetic_gguf(arch)
        info = gguf.inspect_gguf(path)
        assert info.untied_output is untied
        model = gguf.load_gguf(path)
        w_u = model.tl.W_U.detach()
        assert torch.allclose(w_u, written.lm_head.weight.detach().T, atol=1e-6), arch
        tied = torch.allclose(w_u, model.tl.W_E.detach().T, atol=1e-6)
        assert tied is not untied, arch


def test_the_cache_is_keyed_by_the_files_sha256_and_reused(synthetic_gguf, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIRCUITS_CACHE", str(tmp_path))
    path, _ = synthetic_gguf("qwen2")
    reads = []
    real_read = gguf.read_hf
    monkeypatch.setattr(gguf, "read_hf", lambda p: reads.append(p) or real_read(p))
    first = gguf.load_gguf(path)
    again = gguf.load_gguf(path)
    assert len(reads) == 1, "the second load reads only the cache"
    digest = sha256_file(path)
    assert first.source["gguf_sha256"] == digest and first.source["architecture"] == "qwen2"
    assert [p.name for p in (tmp_path / "tiny-qwen2").iterdir()] == [f"v{gguf.FORMAT_VERSION}-{digest[:16]}"]
    for (name, p), (_, q) in zip(first.tl.named_parameters(), again.tl.named_parameters(), strict=True):
        assert torch.equal(p, q), name


def test_the_bridge_backend_loads_the_same_file(synthetic_gguf) -> None:
    path, _ = synthetic_gguf("qwen2")
    hooked = load_model("gguf", path=str(path))
    bridge = load_model("gguf", path=str(path), backend="bridge")
    batch = hooked.encode([hooked.render_chat(CHATS[0])])
    with torch.no_grad():
        diff = (hooked.forward(batch.tokens, batch.attention_mask) - bridge.forward(batch.tokens, batch.attention_mask))
    assert diff.abs().max().item() <= 1e-3
    assert bridge.source == hooked.source


# --- bad files ---------------------------------------------------------------------------------


def _cut(src: Path, dst: Path, keep: float) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * keep)])
    return dst


def test_bad_files_are_refused_with_one_line(synthetic_gguf, tmp_path: Path) -> None:
    path, _ = synthetic_gguf("llama")
    text = tmp_path / "notes.gguf"
    text.write_text("this is not a model\n" * 10)
    cases = {
        "does not exist": tmp_path / "missing.gguf",
        "not a GGUF file": text,
        "truncated": _cut(path, tmp_path / "half.gguf", 0.5),
        "truncated ": _cut(path, tmp_path / "header.gguf", 0.001),
    }
    for expected, bad in cases.items():
        with pytest.raises(UserError, match=expected.strip()) as err:
            gguf.inspect_gguf(bad)
        assert "\n" not in str(err.value)
    with pytest.raises(UserError, match="not the expected file"):
        gguf.inspect_gguf(path, expected_sha256="0" * 64)


def test_an_architecture_it_does_not_convert_is_refused(tmp_path: Path) -> None:
    import gguf as gguf_py
    import numpy as np

    path = tmp_path / "gpt2.gguf"
    w = gguf_py.GGUFWriter(str(path), "gpt2")
    w.add_chat_template("{{ messages }}")
    w.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with pytest.raises(UserError, match="'gpt2' model; the GGUF loader converts llama, qwen2, gemma3"):
        gguf.inspect_gguf(path)


def _run(*overrides: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "circuits.run", *overrides], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


def test_the_command_line_gives_one_line_and_exit_2(synthetic_gguf, tmp_path: Path) -> None:
    path, _ = synthetic_gguf("llama")
    cut = _cut(path, tmp_path / "cut.gguf", 0.7)
    for overrides, expected in (
        (["model=gguf"], "model=gguf needs the file"),
        (["model=gguf", f"model.path={cut}"], "is truncated"),
        (["model=gguf", f"model.path={tmp_path / 'none.gguf'}"], "does not exist"),
        (["model=emo-tiny", f"model.path={path}"], "model.path is only for model=gguf"),
    ):
        proc = _run("experiment=smoke", f"out_dir={tmp_path / 'run'}", *overrides, cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and expected in lines[0], proc.stderr
        assert "Traceback" not in proc.stderr


def test_a_run_records_the_files_sha256_and_is_named_after_it(synthetic_gguf, tmp_path: Path) -> None:
    import json

    path, _ = synthetic_gguf("qwen2")
    proc = _run("experiment=smoke", "model=gguf", f"model.path={path}", "smoke.n_prompts=2",
                "smoke.max_new_tokens=4", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    run = tmp_path / "outputs" / "smoke" / "tiny-qwen2"
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["run"]["model_source"]["gguf_sha256"] == sha256_file(path)
    assert manifest["run"]["model_source"]["architecture"] == "qwen2"
