"""The field's judges, for users with a network or a GPU: a Hugging Face emotion classifier and
an LLM asked which emotion a reply expresses.

- :class:`HFJudge` (``judge.kind=hf``): any Hugging Face text-classification model, by default
  ``j-hartmann/emotion-english-distilroberta-base`` (Ekman's six emotions + neutral, with
  ``joy`` for happiness). Its labels are mapped onto ours (:data:`HF_LABELS`); a label of the
  model that has no counterpart (``love``, ``optimism``, ...) is never chosen.
- :class:`LLMJudge` (``judge.kind=llm``): any chat model the framework loads, asked which of the
  seven labels the reply expresses; the answer is the label the model finds most likely as its
  reply (log-probabilities of the label's tokens, no sampling, no parsing of free text), after
  subtracting the scores it gives replies with no content (contextual calibration, Zhao et al.
  2021: a small model otherwise answers its favourite label whatever the reply says).

Both need their weights locally (the Hugging Face cache) or a network; without them they stop
with one line that says how to get them. The study judged with GPT-4o-mini, asking whether a
reply's style matches the target emotion; its prompt is not published, so :data:`LLM_PROMPT` is
ours, and asks for the label directly so that every judge answers the same question.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from circuits.emotions import EMOTIONS, JUDGE_LABELS, NEUTRAL
from circuits.errors import UserError

DEFAULT_HF_MODEL = "j-hartmann/emotion-english-distilroberta-base"
HF_LABELS = {"anger": "anger", "angry": "anger", "disgust": "disgust", "fear": "fear", "joy": "happiness",
             "happiness": "happiness", "happy": "happiness", "neutral": "neutral", "sadness": "sadness",
             "sad": "sadness", "surprise": "surprise"}
"""A classifier's label (lower case) -> ours."""

LLM_PROMPT = (
    "Read the reply below and decide which emotion it expresses. Answer with exactly one word: "
    + ", ".join(EMOTIONS) + f", or {NEUTRAL} (if it expresses no emotion, or nothing readable).\n\nReply: {{text}}"
)


class HFJudge:
    """A Hugging Face text classifier; each reply gets the mapped label of highest probability."""

    name = "hf"

    def __init__(self, model: str = DEFAULT_HF_MODEL, batch_size: int = 32, device: str = "cpu") -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        try:
            self.tokenizer = AutoTokenizer.from_pretrained(model)
            self.model = AutoModelForSequenceClassification.from_pretrained(model).to(device).eval()
        except OSError:
            raise UserError(f"judge model {model!r} is not available offline: download it once with "
                            f"`huggingface-cli download {model}`, or choose another judge.kind") from None
        labels = {int(i): str(name).lower() for i, name in self.model.config.id2label.items()}
        self.columns = {i: HF_LABELS[name] for i, name in labels.items() if name in HF_LABELS}
        if not set(self.columns.values()) & set(EMOTIONS):
            raise UserError(f"judge model {model!r} has no emotion labels we know ({', '.join(labels.values())}): "
                            "use an emotion classifier")
        self.batch_size, self.device = batch_size, device

    @torch.inference_mode()
    def classify(self, texts: Sequence[str]) -> list[str]:
        out = []
        idx = torch.tensor(sorted(self.columns))
        for start in range(0, len(texts), self.batch_size):
            enc = self.tokenizer(list(texts[start:start + self.batch_size]), return_tensors="pt", padding=True,
                                 truncation=True, max_length=256).to(self.device)
            logits = self.model(**enc).logits[:, idx]
            out += [self.columns[int(idx[j])] for j in logits.argmax(dim=-1).tolist()]
        return out


class LLMJudge:
    """A chat model asked :data:`LLM_PROMPT`; the label whose tokens it finds most likely wins."""

    name = "llm"

    CONTENT_FREE = ("", "N/A", "[reply]")
    """Replies that say nothing: their mean scores are the model's prior over the labels."""

    def __init__(self, model, batch_size: int = 8, calibrate: bool = True) -> None:
        if isinstance(model, str):
            from circuits.model.loading import load_model

            model = load_model(model)
        self.model, self.batch_size, self.calibrate = model, batch_size, calibrate
        self._prior: torch.Tensor | None = None
        self.labels = list(JUDGE_LABELS)
        self.label_ids = [model.token_ids(label) for label in self.labels]
        if any(not ids for ids in self.label_ids):
            raise UserError(f"judge model {model.name!r} cannot write every label as tokens")
        self.first_only = len({ids[0] for ids in self.label_ids}) == len(self.labels)
        """The labels start with different tokens: the first token decides (one forward per reply)."""

    def prompt(self, text: str) -> str:
        return self.model.render_chat([{"role": "user", "content": LLM_PROMPT.format(text=text)}])

    @torch.inference_mode()
    def scores(self, texts: Sequence[str]) -> torch.Tensor:
        """Per reply, the log-probability of each label (columns: :data:`JUDGE_LABELS`) as the
        answer: of its first token when every label starts with a different token (one forward
        per reply), else of its whole token sequence (one forward per reply and label)."""
        out = torch.empty(len(texts), len(self.labels))
        prompts = [self.model.token_ids(self.prompt(t)) for t in texts]
        for start in range(0, len(texts), self.batch_size):
            chunk = prompts[start:start + self.batch_size]
            rows = slice(start, start + len(chunk))
            if self.first_only:
                batch = self.model.pad(chunk)
                logp = torch.log_softmax(self.model.last_logits(batch.tokens, batch.attention_mask).float(), dim=-1)
                out[rows] = logp[:, [ids[0] for ids in self.label_ids]].cpu()
                continue
            for j, label in enumerate(self.label_ids):
                batch = self.model.pad([p + label for p in chunk])
                logits = self.model.forward(batch.tokens, batch.attention_mask)[:, -len(label) - 1:-1, :]
                logp = torch.log_softmax(logits.float(), dim=-1)
                target = torch.tensor(label, device=logp.device).expand(len(chunk), -1)
                out[rows, j] = logp.gather(-1, target[..., None])[..., 0].sum(-1).cpu()
        return out

    def prior(self) -> torch.Tensor:
        """The label scores of content-free replies (mean): what the model answers regardless."""
        if self._prior is None:
            self._prior = self.scores(self.CONTENT_FREE).mean(dim=0)
        return self._prior

    def classify(self, texts: Sequence[str]) -> list[str]:
        """The label of highest score, the prior subtracted first (with ``calibrate``: small
        chat models favour one label, often the first one listed, whatever the reply says)."""
        if not texts:
            return []
        scores = self.scores(texts) - (self.prior() if self.calibrate else 0)
        return [self.labels[i] for i in scores.argmax(dim=-1).tolist()]
