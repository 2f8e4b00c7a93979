"""Intervention vectors against slow references: each prompt read alone, the formula applied."""

from __future__ import annotations

import pytest
import torch

from circuits.activations import read_last_token
from circuits.data.prompts import build_prompts
from circuits.data.splits import project_split
from circuits.emotions import EMOTIONS
from circuits.modulation.vectors import intervention_vectors, neutral_anchored
from circuits.sites import HeadsSite, NeuronsSite
from circuits.vocab import Template


@pytest.fixture(scope="module")
def prompts(emo_tiny):
    split = project_split("discovery", per_theme=1)
    emotional = build_prompts(emo_tiny.render_chat, split, EMOTIONS, Template.SYSTEM)
    neutral = build_prompts(emo_tiny.render_chat, split, [None], Template.SYSTEM)[:8]
    keep = {p.group for p in neutral}
    # one group without its neutral prompt: it must be left out, not averaged in
    emotional = [p for p in emotional if p.group in keep or p.group == emotional[-1].group]
    return emotional, neutral


def test_neutral_anchored_equals_one_prompt_at_a_time(emo_tiny, prompts):
    emotional, neutral = prompts
    neurons, heads, n = neutral_anchored(emo_tiny, emotional, neutral, EMOTIONS, batch_size=20)
    L = emo_tiny.info.n_layers
    assert n == len(neutral) == 8 and neurons.shape == (6, L, emo_tiny.info.d_mlp)
    sites = [NeuronsSite(layer) for layer in range(L)] + [HeadsSite(layer) for layer in range(L)]
    mu_n = read_last_token(emo_tiny, [p.text for p in neutral], sites, batch_size=1)
    for e, emotion in enumerate(EMOTIONS):
        texts = [p.text for p in emotional if p.emotion == emotion and p.group in {q.group for q in neutral}]
        mu_e = read_last_token(emo_tiny, texts, sites, batch_size=1)
        for layer in range(L):
            want_n = mu_e[sites[layer]].mean(0) - mu_n[sites[layer]].mean(0)
            want_h = mu_e[sites[L + layer]].mean(0) - mu_n[sites[L + layer]].mean(0)
            assert torch.allclose(neurons[e, layer], want_n, atol=1e-4)
            assert torch.allclose(heads[e, layer], want_h, atol=1e-4)


def test_anchoring_adds_one_shift_common_to_every_emotion(emo_tiny, prompts):
    """mu_e - mu_neutral = (mu_e - mean mu) + (mean mu - mu_neutral): the anchored vectors are the
    group contrast plus the same vector for every emotion."""
    emotional, neutral = prompts
    anchored_groups = {p.group for p in neutral}
    group = intervention_vectors(emo_tiny, [p for p in emotional if p.group in anchored_groups], EMOTIONS)
    neurons, heads, _ = neutral_anchored(emo_tiny, emotional, neutral, EMOTIONS)
    for anchored, centred in ((neurons, group.neurons), (heads, group.heads)):
        shift = anchored - centred
        assert shift.abs().max() > 1e-2  # the neutral prompt is not the average emotion
        assert torch.allclose(shift, shift[:1].expand_as(shift), atol=1e-4)
    with pytest.raises(ValueError, match="neutral prompt"):
        neutral_anchored(emo_tiny, emotional, [], EMOTIONS)
