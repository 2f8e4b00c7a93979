"""Typed model locations, backend-neutral: where in a model an activation is read or edited.

Everything in the framework talks about *sites*: the residual stream before the first block, a
residual read-out after attention or after the MLP of a layer, the per-head output ``z`` of an
attention layer, the hidden activation of an MLP, the output of a sublayer, or an attention
pattern. A site says *what* it is; the model backend (:mod:`circuits.model`) maps it to a hook
point of its implementation, so no module outside ``circuits/model/`` builds or parses hook names.
Torch-free: the config layer reads :class:`ReadOut` and :class:`Sublayer`.

Shapes of the activation at each site (TransformerLens conventions, which every backend keeps)::

    EmbedSite       [batch pos d_model]       the residual entering block 0
    ResidSite       [batch pos d_model]       after the attention (mid) or the MLP (post) of a layer
    SublayerSite    [batch pos d_model]       what the attention or the MLP adds to the residual
    HeadsSite       [batch pos head d_head]   per-head attention outputs z, before W_O
    NeuronsSite     [batch pos d_mlp]         MLP hidden activations, after the nonlinearity/gate
    PatternSite     [batch head dest src]     attention patterns (softmax weights)
"""

from __future__ import annotations

from dataclasses import dataclass

from circuits.vocab import Choice


class Sublayer(Choice):
    """One of the two sublayers of a transformer block."""

    ATTN = "attn"
    """The attention sublayer; its read-out is the residual after it (``resid_mid``)."""
    MLP = "mlp"
    """The MLP sublayer; its read-out is the residual after it (``resid_post``)."""

    @property
    def readout(self) -> ReadOut:
        return ReadOut.RESID_MID if self is Sublayer.ATTN else ReadOut.RESID_POST


class ReadOut(Choice):
    """Where the residual stream of a layer is read."""

    RESID_MID = "resid_mid"
    """After the attention sublayer, before the MLP."""
    RESID_POST = "resid_post"
    """After the MLP: the output of the block."""

    @property
    def sublayer(self) -> Sublayer:
        return Sublayer.ATTN if self is ReadOut.RESID_MID else Sublayer.MLP


READOUTS: tuple[ReadOut, ...] = (ReadOut.RESID_MID, ReadOut.RESID_POST)


@dataclass(frozen=True, order=True)
class ResidSite:
    """The residual stream of ``layer`` read after attention (mid) or after the MLP (post)."""

    layer: int
    readout: ReadOut


    @property
    def index(self) -> int:
        """Position of this read-out in the depth order attn0, mlp0, attn1, mlp1, ..."""
        return 2 * self.layer + (0 if self.readout is ReadOut.RESID_MID else 1)

    @classmethod
    def at(cls, index: int) -> ResidSite:
        """The read-out at depth position ``index`` (the inverse of :attr:`index`)."""
        return cls(index // 2, READOUTS[index % 2])

    def __str__(self) -> str:
        return f"L{self.layer}.{self.readout.sublayer.value}"


@dataclass(frozen=True, order=True)
class SublayerSite:
    """The output a sublayer adds to the residual stream (``hook_attn_out``/``hook_mlp_out``)."""

    layer: int
    sublayer: Sublayer


    @property
    def readout(self) -> ResidSite:
        """The residual read-out right after this sublayer."""
        return ResidSite(self.layer, self.sublayer.readout)

    def __str__(self) -> str:
        return f"L{self.layer}.{self.sublayer.value}"


@dataclass(frozen=True, order=True)
class HeadsSite:
    """Per-head attention outputs ``z`` of ``layer``, before ``W_O``: [batch pos head d_head]."""

    layer: int



@dataclass(frozen=True, order=True)
class NeuronsSite:
    """MLP hidden activations of ``layer`` (after the nonlinearity/gate): [batch pos d_mlp]."""

    layer: int



@dataclass(frozen=True, order=True)
class PatternSite:
    """Attention patterns of ``layer`` (softmax weights, read by the views): [batch head dest src]."""

    layer: int



@dataclass(frozen=True, order=True)
class EmbedSite:
    """The residual stream before the first block (token + positional embedding)."""



Site = ResidSite | SublayerSite | HeadsSite | NeuronsSite | PatternSite | EmbedSite


def resid_sites(n_layers: int) -> list[ResidSite]:
    """All 2L read-outs in depth order: L0.attn, L0.mlp, L1.attn, ..."""
    return [ResidSite(layer, r) for layer in range(n_layers) for r in READOUTS]


def entering(layer: int) -> EmbedSite | ResidSite:
    """The residual entering block ``layer``: the embedding for layer 0, else the previous
    block's output."""
    return EmbedSite() if layer == 0 else ResidSite(layer - 1, ReadOut.RESID_POST)
