"""The framework's named choices: one torch-free module of enums at the bottom of the package.

Every config field that names a choice is typed with one of these enums, so OmegaConf rejects a
bad value itself when the YAML is merged onto the schema (:mod:`circuits.config`). Each member's
*value* is what a user writes (``components.ablation=zero``); configs accept the value or the
member's name. ``str(member)`` is its value, so logs, tables and JSON read as before.

Importing this module imports nothing but :mod:`enum`: the config layer can use it without
pulling in torch or any analysis module.
"""

from __future__ import annotations

import enum


class _ChoiceMeta(enum.EnumMeta):
    """Looks members up by value as well as by name: OmegaConf converts a config string with
    ``Enum[string]`` (a lookup by name), while configs write values."""

    def __getitem__(cls, name):  # type: ignore[override]
        try:
            return super().__getitem__(name)
        except KeyError:
            for member in cls:  # type: ignore[var-annotated]
                if member.value == name:
                    return member
            raise


class Choice(enum.Enum, metaclass=_ChoiceMeta):
    """A named choice whose value is the string a config or an artifact holds."""

    def __str__(self) -> str:
        return str(self.value)

    @classmethod
    def values(cls) -> list[str]:
        return [str(m.value) for m in cls]


class StageName(Choice):
    """The pipeline's stages, in the order a full run executes them."""

    SMOKE = "smoke"
    """Load, a few prompts, a cached read-out, a short generation: the whole path in seconds."""
    TRAIN_EMO_TINY = "train_emo_tiny"
    """Train the emo-tiny testbed and its judge from scratch, then evaluate them."""
    ELICIT = "elicit"
    """Emotion-prompted replies, judged: prompting accuracy and complete groups (stage 1)."""
    DIRECTIONS = "directions"
    """Emotion directions at every read-out, with the evidence that they are context-agnostic (stage 2)."""
    STEER = "steer"
    """The steering baseline on neutral prompts."""
    COMPONENTS = "components"
    """Neurons and heads scored per emotion, validated by ablation and enhancement (stage 3)."""
    CIRCUITS = "circuits"
    """Sublayer importance, circuit assembly and circuit quality (stage 4)."""
    MODULATE = "modulate"
    """Controlling emotion from the neutral prompt, every method under one decoding (stage 5)."""
    COMPARE = "compare"
    """Finished runs of several models side by side on relative depth: one figure, one table."""
    SUMMARY = "summary"
    """One markdown summary of every table and figure of the run."""
    REPORT = "report"
    """One self-contained report.html: figures, tables, interactive views, links to artifacts."""


class Split(Choice):
    """The two SEV splits: the discovery work reads one, the headline comparison the other."""

    DISCOVERY = "discovery"
    TEST = "test"


class DataSource(Choice):
    """Where the SEV splits come from."""

    PROJECT = "project"
    """The package's own generated splits (``circuits/data/sev``)."""
    STUDY = "study"
    """The study's release beside the checkout (``../shared/data/sev``), for held-out evaluation."""
    FILES = "files"
    """Any two SEV files (``data.discovery``, ``data.test``)."""


class Template(Choice):
    """Where the emotion instruction goes in a prompt."""

    SYSTEM = "system"
    """The study's template: the instruction is the system turn."""
    USER = "user"
    """The instruction follows the scenario and event in the user turn (no system turn, so a
    model's own default system prompt, if its template has one, applies)."""


class BackendKind(Choice):
    """Which TransformerLens model class runs the model (:mod:`circuits.model`)."""

    HOOKED = "hooked"
    """``HookedTransformer`` (TransformerLens < 4): the fast paths (prefix caches, fast decoding)."""
    BRIDGE = "bridge"
    """``TransformerBridge``: the Hugging Face model with hook points (TransformerLens 3.9 and 4.x)."""


class DType(Choice):
    """Floating-point type of a model's weights and activations."""

    FLOAT32 = "float32"
    FLOAT16 = "float16"
    BFLOAT16 = "bfloat16"


class JudgeKind(Choice):
    """Which judge labels replies (:mod:`circuits.evaluation.judges`)."""

    HYBRID = "hybrid"
    """The default: the offline classifier inside a reader's rules (cues, negation, loops)."""
    OFFLINE = "offline"
    """The project's TF-IDF + logistic-regression classifier, shipped beside emo-tiny."""
    KEYWORD = "keyword"
    """Cue words (negation- and formula-aware): a transparent baseline."""
    NRC = "nrc"
    """Counts of NRC Emotion Lexicon associations: an independent cross-check."""
    HF = "hf"
    """A Hugging Face emotion classifier (``judge.hf_model``; needs its weights or a network)."""
    LLM = "llm"
    """A chat model asked which emotion a reply expresses (``judge.llm_model``)."""


class Aggregator(Choice):
    """How a direction is computed from grouped activations (:mod:`circuits.directions.aggregators`)."""

    CENTERED = "centered"
    """The study's within-group-centred contrast (default)."""
    ONE_VS_REST = "one_vs_rest"
    """Mean of the emotion minus mean of the other emotions."""
    PCA = "pca"
    """First principal axis of the emotion's centred differences."""
    PROBE = "probe"
    """Logistic-regression probe weights on the centred differences."""

    @property
    def streaming(self) -> bool:
        """Computable from running sums, without keeping the samples."""
        return self in (Aggregator.CENTERED, Aggregator.ONE_VS_REST)


class Ablation(Choice):
    """What replaces an ablated component's output."""

    ZERO = "zero"
    """Zero (the study's choice)."""
    MEAN = "mean"
    """Its mean over the dataset's real tokens."""
    RESAMPLE = "resample"
    """Its value on a prompt of another group (the batch rotated by one prompt; right-aligned)."""


class Metric(Choice):
    """Where a component's effect is read."""

    SAME_LAYER = "same_layer"
    """The same layer's read-out after the component's sublayer, on that read-out's direction."""
    FINAL = "final"
    """The final residual, on a reference direction: every downstream path counts."""


class Importance(Choice):
    """Which sublayer importance allocates a circuit's budget (:mod:`circuits.circuit.importance`)."""

    INJECTION = "injection"
    """The study's: inject the emotion's direction into one sublayer on the neutral prompt."""
    PATCHING = "patching"
    """Patch one sublayer's output from the emotion prompt into the neutral one."""


class Positions(Choice):
    """Which token positions an intervention acts on, in each forward call.

    Under a key-value cache the first call (prefill) sees the whole prompt and every later
    call sees one new token; outside generation a forward call counts as a prefill.
    """

    LAST = "last"
    """The last position of every call: the last prompt token, then every fed-back generated
    token. The study's policy for steering and for circuit neurons."""
    ALL = "all"
    """Every position of every call: all prompt tokens, then every generated token. The
    study's policy for circuit heads."""
    PROMPT_LAST = "prompt_last"
    """Only the last prompt token (the prefill call); decoding steps are left alone."""
    PROMPT = "prompt"
    """Every prompt position (the prefill call); decoding steps are left alone. Edits of the
    prompt persist through the key-value cache, so generated tokens see them without being
    edited themselves."""
    GENERATED = "generated"
    """Only decoding steps (generated tokens); the prompt is left alone."""

    def select(self, seq_len: int, step: int | None) -> slice | None:
        """The positions to edit in a call of ``seq_len`` positions at decoding ``step`` (0 or
        None: a prefill; k: the k-th decoding step); None leaves the call alone."""
        prefill = step is None or step == 0
        if self is Positions.LAST:
            return slice(seq_len - 1, seq_len)
        if self is Positions.ALL:
            return slice(0, seq_len)
        if self is Positions.PROMPT_LAST:
            return slice(seq_len - 1, seq_len) if prefill else None
        if self is Positions.PROMPT:
            return slice(0, seq_len) if prefill else None
        return None if prefill else slice(0, seq_len)


class Phase(Choice):
    """The two phases of a generation an intervention vector is measured for."""

    PROMPT = "prompt"
    """The prefill: the last prompt token, where the study reads its contrasts."""
    REPLY = "reply"
    """Decoding steps: reply positions, read by teacher-forcing elicited replies."""


class Anchor(Choice):
    """What the prompt-phase intervention vector of circuit modulation is measured against."""

    GROUP = "group"
    """The study's within-group contrast: how emotion e differs from the other five."""
    NEUTRAL = "neutral"
    """``mu_e - mu_neutral`` over the same groups: how it differs from the neutral prompt."""


class Search(Choice):
    """How calibration searches the strength grid (:mod:`circuits.modulation.calibration`)."""

    GRID = "grid"
    """Every candidate on every calibration prompt: the exhaustive reference."""
    HALVING = "halving"
    """Successive halving: all candidates on a few prompts, the best third on three times as
    many, and so on; the same rule chooses among the survivors on every prompt."""


class Ties(Choice):
    """Which of equally accurate candidates inside the fluency limit the strength rule takes
    (:func:`circuits.modulation.comparison.choose`)."""

    FLUENT = "fluent"
    """The lower perplexity: the gentlest intervention that reaches the accuracy."""
    STRONG = "strong"
    """The higher perplexity (still inside the limit): the intervention that moves the model most.
    On few calibration prompts every candidate can read 0%; ``fluent`` then takes the weakest,
    ``strong`` the one most likely to show the emotion on more prompts."""


class Method(Choice):
    """The control methods compared from the neutral prompt (:mod:`circuits.modulation.methods`)."""

    NONE = "none"
    """The neutral prompt, unmodified: the floor."""
    PROMPTING = "prompting"
    """The emotion prompt: the study's prompting baseline."""
    STEERING = "steering"
    """The neutral prompt with the emotion's residual direction added."""
    CIRCUIT = "circuit"
    """The neutral prompt with the emotion's circuit modulated (the framework's variant)."""
    CIRCUIT_STUDY = "circuit_study"
    """The same circuit modulated exactly as the study does (one ``s`` everywhere)."""
    RANDOM = "random"
    """``circuit``'s modulation on random circuits with the same layer profile, disjoint from it."""
