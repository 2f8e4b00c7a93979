"""Typed sites: what each one is, the shape a backend hands its hooks, and the TransformerLens
backend's mapping of every site to one of its hook points."""

from __future__ import annotations

import pytest
import torch

from circuits.model.backend import Record
from circuits.model.hooked import hook_point
from circuits.sites import (
    EmbedSite,
    HeadsSite,
    NeuronsSite,
    PatternSite,
    ReadOut,
    ResidSite,
    Sublayer,
    SublayerSite,
    entering,
    resid_sites,
)


def test_readouts_are_numbered_in_depth_order_and_back():
    sites = resid_sites(3)
    assert [str(s) for s in sites] == ["L0.attn", "L0.mlp", "L1.attn", "L1.mlp", "L2.attn", "L2.mlp"]
    assert [s.index for s in sites] == list(range(6))
    assert all(ResidSite.at(s.index) == s for s in sites)
    assert SublayerSite(1, Sublayer.MLP).readout == ResidSite(1, ReadOut.RESID_POST)
    assert Sublayer.ATTN.readout is ReadOut.RESID_MID and ReadOut.RESID_POST.sublayer is Sublayer.MLP
    assert entering(0) == EmbedSite() and entering(2) == ResidSite(1, ReadOut.RESID_POST)


def test_sites_are_values_usable_as_keys():
    assert {HeadsSite(1): "a"}[HeadsSite(1)] == "a" and HeadsSite(1) != NeuronsSite(1)


def _shape_at(model, site, tokens):
    rec = Record()
    with model.hooks([(site, rec)]):
        model.forward(tokens.tokens, tokens.attention_mask)
    return tuple(rec.value.shape)


@pytest.mark.parametrize("site", [EmbedSite(), ResidSite(1, ReadOut.RESID_MID), ResidSite(0, ReadOut.RESID_POST),
                                  SublayerSite(1, Sublayer.ATTN), SublayerSite(0, Sublayer.MLP), HeadsSite(1),
                                  NeuronsSite(0), PatternSite(1)])
def test_every_site_is_a_hook_point_with_the_documented_shape(tiny_model, site):
    """The TransformerLens backend maps the site to one of the model's hook points, and a hook
    there sees the shape the site documents."""
    assert hook_point(site) in tiny_model.tl.hook_dict
    batch = tiny_model.encode(["one two three", "four"])
    B, P = batch.tokens.shape
    i = tiny_model.info
    expected = {EmbedSite: (B, P, i.d_model), ResidSite: (B, P, i.d_model), SublayerSite: (B, P, i.d_model),
                HeadsSite: (B, P, i.n_heads, i.d_head), NeuronsSite: (B, P, i.d_mlp),
                PatternSite: (B, i.n_heads, P, P)}[type(site)]
    assert _shape_at(tiny_model, site, batch) == expected


def test_the_residual_read_out_after_a_sublayer_adds_its_output(tiny_model):
    """resid_mid = resid_pre + attn_out, resid_post = resid_mid + mlp_out: the sites name the
    stream and what each sublayer writes into it."""
    batch = tiny_model.encode(["one two three"])
    recs = {s: Record() for s in (entering(1), SublayerSite(1, Sublayer.ATTN), ResidSite(1, ReadOut.RESID_MID),
                                  SublayerSite(1, Sublayer.MLP), ResidSite(1, ReadOut.RESID_POST))}
    with tiny_model.hooks(list(recs.items())):
        tiny_model.forward(batch.tokens, batch.attention_mask)
    v = [r.value for r in recs.values()]
    torch.testing.assert_close(v[0] + v[1], v[2])
    torch.testing.assert_close(v[2] + v[3], v[4])
