"""The SEV loader: the study's release, the project's splits, and clear schema errors."""

from __future__ import annotations

import json

import pytest

from circuits.data.prompts import build_prompts, messages_for
from circuits.data.sev import load_sev
from circuits.data.splits import STUDY_FILES
from circuits.emotions import EMOTIONS
from circuits.errors import UserError
from circuits.paths import shared_sev_dir
from circuits.vocab import Split, Template

STUDY = shared_sev_dir()


def _render(messages):
    return "\n".join(f"{m['role']}: {m['content']}" for m in messages)


@pytest.mark.skipif(not (STUDY / "sev.jsonl").exists(), reason="the study's SEV files are not beside this checkout")
@pytest.mark.parametrize("split", list(Split))
def test_reads_the_study_release(split):
    data = load_sev(STUDY / STUDY_FILES[split])
    assert len(data) == 160 and len(data.themes) == 8
    prompts = build_prompts(_render, data, EMOTIONS, Template.SYSTEM)
    assert len(prompts) == 2880
    assert len({p.group for p in prompts}) == 480


def test_study_template_is_the_study_system_prompt():
    from circuits.data.sev import Skeleton

    s = Skeleton("x_00", "T", "I did a thing", "It went well.", "It happened.", "It went badly.")
    msgs = messages_for(s, "negative", "anger", Template.SYSTEM)
    assert msgs[0] == {"role": "system", "content": "Always reply in anger. Keep the reply to at most two sentences."}
    assert msgs[1] == {"role": "user", "content": "I did a thing\nIt went badly."}
    neutral = messages_for(s, "negative", None, Template.SYSTEM)
    assert neutral[0]["content"] == "Keep the reply to at most two sentences."


@pytest.mark.parametrize(
    "line, fragment",
    [
        ("{not json", "invalid JSON"),
        ('{"theme": "T", "scenario": "s", "skeleton_id": "a"}', "missing field 'event'"),
        ('{"theme": "T", "scenario": "s", "skeleton_id": "a", "event": {"positive": "p", "neutral": "n"}}',
         "event.negative"),
        ('[1, 2]', "expected a JSON object"),
    ],
)
def test_schema_errors_name_file_and_line(tmp_path, line, fragment):
    good = {"theme": "T", "scenario": "s", "event": {"positive": "p", "neutral": "n", "negative": "x"},
            "skeleton_id": "ok_0"}
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(good) + "\n" + line + "\n")
    with pytest.raises(UserError) as info:
        load_sev(path)
    assert f"{path}:2:" in str(info.value) and fragment in str(info.value)


def test_duplicate_ids_and_missing_file(tmp_path):
    good = {"theme": "T", "scenario": "s", "event": {"positive": "p", "neutral": "n", "negative": "x"},
            "skeleton_id": "dup"}
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(good) + "\n")
    with pytest.raises(UserError, match="duplicate skeleton_id 'dup'"):
        load_sev(path)
    with pytest.raises(UserError, match="not found"):
        load_sev(tmp_path / "nope.jsonl")


def test_stratified_subset_is_balanced_and_deterministic():
    from circuits.data.splits import project_split

    a = project_split(Split.TEST, per_theme=2)
    b = project_split("test", per_theme=2)
    assert a == b
    assert all(len(v) == 2 for v in a.by_theme().values())


def test_evaluation_split_is_drawn_from_the_whole_split_within_the_cpu_budget(tmp_path):
    """``ctx.split`` sizes the discovery work by ``data.per_theme``; ``ctx.split_of`` draws from the
    whole split (None: all of it), the same stratified draw for the same size, and both are capped
    by the model's CPU budget on CPU."""
    from circuits.artifacts import RunDir
    from circuits.run import compose
    from circuits.stages.context import RunContext

    def ctx(*overrides):
        return RunContext(compose(["model.device=cpu", f"out_dir={tmp_path}", *overrides]), RunDir(tmp_path))

    c = ctx("data.per_theme=2")
    work, whole, four = c.split(Split.TEST), c.split_of(Split.TEST, None), c.split_of(Split.TEST, 4)
    assert all(len(v) == 2 for v in work.by_theme().values())
    assert all(len(v) == 4 for v in four.by_theme().values())
    assert len(whole.skeletons) == len(c.split_of(Split.TEST, 10**6).skeletons) > len(four.skeletons)
    assert c.split_of(Split.TEST, 2) == work
    capped = ctx("data.per_theme=2", "model.cpu_per_theme=1")
    assert all(len(v) == 1 for v in capped.split_of(Split.TEST, None).by_theme().values())
