"""Typed configuration schemas, validated before any work starts.

Hydra composes YAML from ``circuits/conf/`` (one folder per concern: ``model``, ``data``,
``experiment``); :func:`circuits.run.compose` merges the result onto :class:`Config`, which
rejects unknown keys, wrong types and bad choices (every field that names a choice is typed
with an enum of :mod:`circuits.vocab`), and :func:`circuits.validate.validate` checks what a
schema cannot: names of emotions, data files, cross-field rules and layers. Schemas have no side
effects: they never seed, create directories or load models.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from circuits.emotions import EMOTIONS
from circuits.sites import ReadOut
from circuits.vocab import (
    Ablation,
    Aggregator,
    Anchor,
    BackendKind,
    DataSource,
    DType,
    Importance,
    JudgeKind,
    Metric,
    Positions,
    Search,
    Split,
    StageName,
    Template,
    Ties,
)


@dataclass
class ModelConfig:
    name: str = "emo-tiny"
    """emo-tiny, smollm2-135m-instruct, qwen2.5-coder-0.5b-instruct, gguf (with ``path``), or a
    TransformerLens pretrained name."""
    path: str | None = None
    """The GGUF file of ``name: gguf`` (any local Llama, Qwen2 or Gemma 3 chat model)."""
    device: str = "auto"
    """auto (cuda when available, else cpu), cpu, cuda, cuda:N."""
    dtype: DType = DType.FLOAT32
    """float32, float16 or bfloat16 (any other value is refused when the config is composed)."""
    n_devices: int = 1
    """GPUs a pretrained model is split over (TransformerLens's ``n_devices``: consecutive
    blocks on consecutive devices); 1 for the embedded models and on CPU."""
    template: Template = Template.SYSTEM
    """Where the emotion instruction goes: system (the study's) or user."""
    cpu_per_theme: int | None = None
    """On CPU, run stratified subsets of this many skeletons per theme (null: whole splits).
    Sized for 2 cores on real models; ignored on a GPU, where data.per_theme applies."""
    backend: BackendKind = BackendKind.HOOKED
    """hooked (TransformerLens' ``HookedTransformer``, with the fast paths) or bridge
    (``TransformerBridge``: the Hugging Face model with hook points; works on TransformerLens 4)."""
    trust_remote_code: bool = False
    """Allow a pretrained model whose Hugging Face repository runs its own code when loaded
    (TransformerLens asks for it for some names, e.g. Qwen/Qwen3-*); refused unless set."""


@dataclass
class DataConfig:
    source: DataSource = DataSource.PROJECT
    """project (the package's generated splits), study (../shared/data/sev), or files."""
    discovery: str | None = None
    """Path of the discovery split when source=files."""
    test: str | None = None
    """Path of the test split when source=files."""
    per_theme: int | None = None
    """Stratified subset: this many skeletons per theme (null: the whole split)."""
    subset_seed: int = 0


@dataclass
class DecodingConfig:
    """One decoding configuration, shared by every method compared side by side."""

    max_new_tokens: int = 48
    batch_size: int = 64
    greedy: bool = True
    temperature: float = 1.0
    top_p: float = 1.0


@dataclass
class ComputeConfig:
    """How this process uses the machine's cores."""

    threads: int | None = None
    """torch's threads in this process (null: the cores this process may use, divided by
    ``workers``). The command line also makes waiting threads sleep instead of spin
    (``OMP_WAIT_POLICY=PASSIVE`` unless set): on two cores shared with one busy process, spinning
    threads made emo-tiny's generation 3x slower, sleeping ones 1.4x, at 20% on an idle machine."""
    workers: int = 1
    """Processes that share the cores (e.g. parallel sweep cells): each gets its share of threads."""


@dataclass
class JudgeConfig:
    kind: JudgeKind = JudgeKind.HYBRID
    """hybrid (the default: the shipped classifier inside a reader's rules), offline (the
    classifier alone), keyword, nrc (the NRC lexicon), hf (a Hugging Face
    emotion classifier) or llm (a chat model asked for the label)."""
    hf_model: str = "j-hartmann/emotion-english-distilroberta-base"
    """The classifier of ``kind=hf`` (a Hugging Face name or a local directory)."""
    llm_model: str = "smollm2-135m-instruct"
    """The chat model of ``kind=llm`` (any name ``model=`` accepts)."""


@dataclass
class ExperimentConfig:
    name: str = "smoke"
    stages: list[StageName] = field(default_factory=lambda: [StageName.SMOKE])


@dataclass
class SmokeConfig:
    n_prompts: int = 4
    max_new_tokens: int = 16


@dataclass
class TrainConfig:
    """Training ``emo-tiny`` (and its judge) from scratch."""

    seed: int = 0
    steps: int = 1500
    batch_size: int = 16
    lr: float = 2e-3
    warmup: int = 100
    weight_decay: float = 0.05
    n_layers: int = 4
    d_model: int = 192
    n_heads: int = 6
    d_mlp: int = 768
    n_ctx: int = 256
    vocab_size: int = 2048
    neutral_emotional_share: float = 0.1
    """Share of neutral-prompt training replies that are emotional (a realistic prior)."""
    out_dir: str | None = None
    """Where to write the checkpoint (null: the run directory; the package copy is only
    replaced by ``make emo-tiny``)."""
    eval_split: Split = Split.TEST
    log_every: int = 100


@dataclass
class ElicitConfig:
    splits: list[Split] = field(default_factory=lambda: [Split.DISCOVERY, Split.TEST])
    templates: list[Template] = field(default_factory=list)
    """Prompt templates to report accuracy for besides model.template (always reported first)."""
    filter: bool = True
    """Keep only judge-accepted (skeleton, valence) groups for the directions (off: all groups)."""


@dataclass
class DirectionsConfig:
    aggregator: Aggregator = Aggregator.CENTERED
    """centered (the study's), one_vs_rest, pca, or probe."""
    probes: bool = True
    """Layer-wise probes (keeps the last-token residuals of the discovery prompts in memory)."""
    compare_aggregators: bool = True
    """Report how closely the other aggregators agree with the chosen one, per read-out."""


@dataclass
class SteeringConfig:
    layers: list[int] | None = None
    """Layers to steer (null: the study's 11-20 of 28, scaled to the model's depth)."""
    alpha: float = 8.0
    positions: Positions = Positions.LAST
    """last (the study's), all, prompt_last, prompt, or generated."""
    readout: ReadOut = ReadOut.RESID_POST
    split: Split = Split.TEST


@dataclass
class ReferenceConfig:
    segment: list[int] | None = None
    """[first_layer, last_layer] of the stable segment (null: derived from the directions)."""
    threshold: float = 0.9
    """Adjacent-read-out cosine that counts as stable when the segment is derived."""


@dataclass
class ComponentsConfig:
    ablation: Ablation = Ablation.ZERO
    """zero (the study's), mean, or resample."""
    metrics: list[Metric] = field(default_factory=lambda: [Metric.SAME_LAYER, Metric.FINAL])
    """Head metrics for the exact sweep: same_layer (the study's score) and/or final."""
    head_score: Metric = Metric.SAME_LAYER
    """The metric that ranks heads."""
    max_prompts: int | None = None
    """Prompts per emotion used for scoring (null: all complete groups)."""
    validate_ks_max: int = 64
    """Validation: top-k for k = 1, 2, 4, ... up to this."""
    random_draws: int = 5
    enhance_scale: float = 2.0
    validate_prompts: int = 48
    """Prompts per emotion for the validation curves."""
    generate_k: int = 16
    """Top-k used for the generation check (judged replies with components ablated/enhanced)."""
    generate_prompts: int = 36
    top_n_table: int = 2000
    """Rows of the neuron table per emotion (the full scores are in the safetensors file)."""


@dataclass
class CircuitConfig:
    alphas: list[float] = field(default_factory=lambda: [0.1, 0.3, 0.5, 0.7])
    """Injection strengths (in units of the read-out's RMS), averaged (the study's grid)."""
    importance: Importance = Importance.INJECTION
    """Which importance allocates the budget: injection (the study's) or patching."""
    neurons_per_layer: float = 14.0
    """Neuron budget per layer (the study: 392 neurons over 28 layers)."""
    head_fraction: float = 0.25
    """Share of all heads in the budget (the study: 168 of 672)."""
    min_neurons: int = 4
    min_heads: int | None = None
    """Heads every layer gets (null: the study's 2 of 24 heads, scaled to the model, at least 1)."""
    cap: float = 0.4
    """Largest share of a budget one layer may take."""
    max_prompts: int | None = 60
    """Groups per emotion used for importance and quality (null: all complete groups)."""
    scale: float = 1.0
    """s of the modulation used for faithfulness."""
    necessity_draws: int = 10
    size_multipliers: list[float] = field(default_factory=lambda: [0.25, 0.5, 1.0, 2.0, 4.0])


@dataclass
class ModulateConfig:
    split: Split = Split.TEST
    per_theme: int | None = None
    """Skeletons per theme of the whole split for the headline comparison (null: all of them),
    within the model's CPU budget. Independent of ``data.per_theme``, which sizes the
    discovery work (and calibration) that the comparison then tests."""
    neuron_positions: Positions = Positions.LAST
    """The study's policy: neurons at the last position of every forward call."""
    head_positions: Positions = Positions.ALL
    """The study's policy: heads at every position."""
    reply_vectors: bool = True
    """Circuit modulation adds the reply-phase dmu in decoding steps (the study: the prompt dmu)."""
    random_draws: int = 1
    """Random control circuits per emotion (disjoint from the circuit); their replies are pooled
    and each draw's accuracy is kept in ``metrics.json``."""
    anchor: Anchor = Anchor.GROUP
    """The prompt-phase dmu of ``circuit`` and ``random``: ``group``, the study's within-group
    contrast (how emotion e differs from the other five), or ``neutral``, ``mu_e - mu_neutral``
    over the same groups (how it differs from the neutral prompt the modulation starts from;
    :func:`circuits.modulation.vectors.neutral_anchored`). ``circuit_study`` always uses the
    study's."""
    calibrate: bool = True
    """Choose each emotion's strength for circuit, study-style circuit and steering on the
    discovery split, under the same fluency limit (the study hand-picks s)."""
    search: Search = Search.GRID
    """grid (every candidate on every calibration prompt) or halving (successive halving: the
    promising candidates get the prompts; the same rule chooses)."""
    halving_rate: int = 3
    """Halving keeps 1/rate of the candidates and multiplies their prompts by rate each round."""
    halving_first: int = 10
    """Calibration prompts per candidate in halving's first round."""
    ties: Ties = Ties.FLUENT
    """Which of equally accurate candidates inside the fluency limit the rule takes
    (:class:`circuits.vocab.Ties`)."""
    calibrate_per_theme: int = 3
    """Discovery skeletons per theme for calibration: 3 gives 90 prompts per emotion (one
    skeleton, 30 prompts, let sadness read 100% on discovery and 86% on test)."""
    prompt_scale_grid: list[float] = field(default_factory=lambda: [1.0, 1.5, 2.0, 3.0, 4.0])
    reply_scale_grid: list[float] = field(default_factory=lambda: [0.5, 1.0, 2.0, 2.75, 4.0])
    reply_steps_grid: list[int | None] = field(default_factory=lambda: [None, 2])
    """Circuit modulation's grid is prompt x reply scale x reply steps (null: every decoding
    step; k: an onset push, the first k steps only)."""
    study_scale_grid: list[float] = field(default_factory=lambda: [0.5, 0.75, 1.0, 1.25, 1.5])
    alpha_grid: list[float] = field(default_factory=lambda: [2.0, 4.0, 8.0, 12.0, 16.0])
    scales: dict[str, float] = field(default_factory=lambda: {e: 1.0 for e in EMOTIONS})
    """Without calibration: each emotion's prompt-phase s (and the study-style circuit's s)."""
    reply_scales: dict[str, float] = field(default_factory=lambda: {e: 1.0 for e in EMOTIONS})
    """Without calibration: each emotion's reply-phase s."""
    reply_steps: int | None = None
    """Without calibration: decoding steps that get the reply-phase push (null: all)."""
    sweep_multipliers: list[float] = field(default_factory=lambda: [0.25, 0.5, 1.0, 1.5, 2.0])
    """Multipliers of the chosen strengths (circuit and steering) for the accuracy-fluency sweep."""
    sweep_per_theme: int | None = 2
    fluency_factor: float = 2.0
    """Fluency limit: median perplexity at most this times the unmodified replies'."""


@dataclass
class CompareConfig:
    runs: list[str] = field(default_factory=lambda: [
        "outputs/reproduce/emo-tiny",
        "outputs/reproduce_real/smollm2-135m-instruct",
        "outputs/reproduce_real/qwen2.5-coder-0.5b-instruct",
    ])
    """Finished run directories (stages directions and circuits at least; modulate for the
    control table), relative to the working directory."""


@dataclass
class Config:
    experiment: ExperimentConfig = field(default_factory=ExperimentConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    decoding: DecodingConfig = field(default_factory=DecodingConfig)
    compute: ComputeConfig = field(default_factory=ComputeConfig)
    judge: JudgeConfig = field(default_factory=JudgeConfig)
    smoke: SmokeConfig = field(default_factory=SmokeConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    elicit: ElicitConfig = field(default_factory=ElicitConfig)
    directions: DirectionsConfig = field(default_factory=DirectionsConfig)
    steering: SteeringConfig = field(default_factory=SteeringConfig)
    reference: ReferenceConfig = field(default_factory=ReferenceConfig)
    components: ComponentsConfig = field(default_factory=ComponentsConfig)
    circuit: CircuitConfig = field(default_factory=CircuitConfig)
    modulate: ModulateConfig = field(default_factory=ModulateConfig)
    compare: CompareConfig = field(default_factory=CompareConfig)
    emotions: list[str] = field(default_factory=lambda: list(EMOTIONS))
    seed: int = 0
    out_dir: str | None = None
    """Run directory (null: outputs/<experiment>/<model>)."""
    progress: bool = True


def register_schema() -> None:
    """The typed schema as Hydra's ``schema`` config (the root config's first default)."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name="schema", node=Config)
