"""Extraction on a real model: batched equals unbatched; shapes and save/load; steering restores."""

from __future__ import annotations

import pytest
import torch

from circuits.activations import read_last_token
from circuits.data.prompts import build_prompts
from circuits.data.splits import project_split
from circuits.directions.aggregators import centered_contrast, unit
from circuits.directions.emotion_directions import EmotionDirections
from circuits.directions.extract import extract_directions, group_prompts
from circuits.emotions import EMOTIONS
from circuits.modulation.steering import default_layers, steer
from circuits.sites import resid_sites
from circuits.vocab import Template


@pytest.fixture(scope="module")
def prompts(emo_tiny):
    split = project_split("discovery", per_theme=1)
    return build_prompts(emo_tiny.render_chat, split, EMOTIONS, Template.SYSTEM)


def test_batched_and_unbatched_extraction_agree(emo_tiny, prompts):
    a = extract_directions(emo_tiny, prompts, EMOTIONS, batch_size=64, keep_samples=True)
    b = extract_directions(emo_tiny, prompts, EMOTIONS, batch_size=6, keep_samples=True)
    assert torch.allclose(a.samples, b.samples, atol=1e-5)
    assert torch.allclose(a.directions.vectors, b.directions.vectors, atol=1e-5)


def test_streamed_directions_equal_direct_reference(emo_tiny, prompts):
    """Reference: read each prompt alone with read_last_token, then apply the formula."""
    ex = extract_directions(emo_tiny, prompts, EMOTIONS, batch_size=64)
    groups = group_prompts(prompts, EMOTIONS)
    sites = resid_sites(emo_tiny.info.n_layers)
    flat = [p.text for g in groups for p in g]
    acts = read_last_token(emo_tiny, flat, sites, batch_size=1)
    x = torch.stack([acts[s] for s in sites], dim=1).reshape(len(groups), len(EMOTIONS), len(sites), -1)
    assert torch.allclose(ex.directions.vectors, unit(centered_contrast(x)), atol=1e-5)


def test_directions_round_trip(emo_tiny, prompts, tmp_path):
    d = extract_directions(emo_tiny, prompts, EMOTIONS).directions
    d.save(tmp_path / "dirs")
    back = EmotionDirections.load(tmp_path / "dirs")
    assert torch.equal(back.vectors, d.vectors) and back.emotions == d.emotions and back.n_groups == d.n_groups
    assert back.cross_sublayer_cosines("anger").shape == (2 * d.n_layers, 2 * d.n_layers)


def test_steering_context_leaves_no_hook_after_exception(emo_tiny, prompts):
    d = extract_directions(emo_tiny, prompts, EMOTIONS).directions
    with pytest.raises(ValueError):
        with steer(emo_tiny, d, "fear", default_layers(emo_tiny.info.n_layers), 8.0):
            assert emo_tiny.n_active_hooks() > 0
            raise ValueError("inside")
    assert emo_tiny.n_active_hooks() == 0
