"""Typed model locations: the only module that knows TransformerLens hook names.

Everything else in the framework talks about *sites*: a residual read-out after attention or
after the MLP of a layer, the per-head output ``z`` of an attention layer, the hidden activation
of an MLP, or the output of a sublayer. A site turns itself into a hook name with
:meth:`hook_name`; nothing outside this module builds or parses hook strings.

Shapes of the activation at each site (TransformerLens conventions)::

    ResidSite       [batch pos d_model]       blocks.L.hook_resid_mid / hook_resid_post
    SublayerSite    [batch pos d_model]       blocks.L.hook_attn_out / hook_mlp_out
    HeadsSite       [batch pos head d_head]   blocks.L.attn.hook_z
    NeuronsSite     [batch pos d_mlp]         blocks.L.mlp.hook_post
    PatternSite     [batch head dest src]     blocks.L.attn.hook_pattern
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Sublayer(enum.Enum):
    """One of the two sublayers of a transformer block."""

    ATTN = "attn"
    """The attention sublayer; its read-out is the residual after it (``resid_mid``)."""
    MLP = "mlp"
    """The MLP sublayer; its read-out is the residual after it (``resid_post``)."""

    @property
    def readout(self) -> ReadOut:
        return ReadOut.RESID_MID if self is Sublayer.ATTN else ReadOut.RESID_POST


class ReadOut(enum.Enum):
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

    def hook_name(self) -> str:
        return f"blocks.{self.layer}.hook_{self.readout.value}"

    @property
    def index(self) -> int:
        """Position of this read-out in the depth order attn0, mlp0, attn1, mlp1, ..."""
        return 2 * self.layer + (0 if self.readout is ReadOut.RESID_MID else 1)

    def __str__(self) -> str:
        return f"L{self.layer}.{self.readout.sublayer.value}"


@dataclass(frozen=True, order=True)
class SublayerSite:
    """The output a sublayer adds to the residual stream (``hook_attn_out``/``hook_mlp_out``)."""

    layer: int
    sublayer: Sublayer

    def hook_name(self) -> str:
        return f"blocks.{self.layer}.hook_{self.sublayer.value}_out"

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

    def hook_name(self) -> str:
        return f"blocks.{self.layer}.attn.hook_z"


@dataclass(frozen=True, order=True)
class NeuronsSite:
    """MLP hidden activations of ``layer`` (after the nonlinearity/gate): [batch pos d_mlp]."""

    layer: int

    def hook_name(self) -> str:
        return f"blocks.{self.layer}.mlp.hook_post"


@dataclass(frozen=True, order=True)
class PatternSite:
    """Attention patterns of ``layer`` (softmax weights, read by the views): [batch head dest src]."""

    layer: int

    def hook_name(self) -> str:
        return f"blocks.{self.layer}.attn.hook_pattern"


@dataclass(frozen=True, order=True)
class EmbedSite:
    """The residual stream before the first block (token + positional embedding)."""

    def hook_name(self) -> str:
        return "blocks.0.hook_resid_pre"


Site = ResidSite | SublayerSite | HeadsSite | NeuronsSite | PatternSite | EmbedSite


def resid_sites(n_layers: int) -> list[ResidSite]:
    """All 2L read-outs in depth order: L0.attn, L0.mlp, L1.attn, ..."""
    return [ResidSite(layer, r) for layer in range(n_layers) for r in READOUTS]
