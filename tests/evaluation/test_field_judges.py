"""The field's judges, offline: a Hugging Face classifier and an LLM judge, each on a tiny model
the tests build, against what the labels must be."""

from __future__ import annotations

import pytest
import torch

from circuits.emotions import JUDGE_LABELS
from circuits.errors import UserError
from circuits.evaluation.field_judges import HFJudge, LLMJudge
from circuits.evaluation.judges import make_judge

HARTMANN = ["anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"]


def _tiny_classifier(path, labels, favour=None):
    """A 2-layer BERT sequence classifier with ``labels`` and a word-level tokenizer, saved to
    ``path``; with ``favour``, that label's bias dominates every input."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "i", "am", "so", "happy", "the", "meeting", "is", "at", "ten"]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]")
    cfg = BertConfig(vocab_size=len(words), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=32, max_position_embeddings=64, num_labels=len(labels),
                     id2label=dict(enumerate(labels)), label2id={name: i for i, name in enumerate(labels)})
    torch.manual_seed(0)
    model = BertForSequenceClassification(cfg)
    if favour is not None:
        with torch.no_grad():
            model.classifier.bias.zero_()
            model.classifier.bias[labels.index(favour)] = 100.0
    model.save_pretrained(path)
    fast.save_pretrained(path)
    return str(path)


def test_hf_judge_maps_the_classifiers_labels_onto_ours(tmp_path):
    judge = HFJudge(_tiny_classifier(tmp_path / "any", HARTMANN))
    labels = judge.classify(["I am so happy", "The meeting is at ten", "words it never saw"] * 5)
    assert len(labels) == 15 and set(labels) <= set(JUDGE_LABELS)
    assert HFJudge(_tiny_classifier(tmp_path / "joy", HARTMANN, favour="joy")).classify(["the meeting"]) == ["happiness"]
    # a label without a counterpart (love) is never chosen, even when the model favours it
    loving = HFJudge(_tiny_classifier(tmp_path / "love", ["love", "anger", "neutral"], favour="love"))
    assert loving.classify(["I am so happy"])[0] in ("anger", "neutral")
    j = make_judge("hf", hf_model=str(tmp_path / "joy"))
    assert j.name == "hf" and j.classify(["i am"]) == ["happiness"]


def test_hf_judge_refuses_a_missing_model_or_one_without_emotions(tmp_path):
    with pytest.raises(UserError, match="not available offline"):
        HFJudge(str(tmp_path / "nowhere"))
    with pytest.raises(UserError, match="no emotion labels"):
        HFJudge(_tiny_classifier(tmp_path / "sentiment", ["positive", "negative"]))


@pytest.mark.parametrize("first_only", [True, False])
def test_llm_judge_scores_each_label_like_one_forward_per_reply_and_label(emo_tiny, first_only):
    """Batched scores equal the log-probability of each label's tokens (its first token, or the
    whole sequence) computed one reply and one label at a time from a plain forward."""
    judge = LLMJudge(emo_tiny, batch_size=3)
    judge.first_only = first_only
    texts = ["I am furious about the delay.", "Noted, I will update the schedule.", "What a lovely surprise!",
             "Ugh, gross."]
    fast = judge.scores(texts)
    for i, text in enumerate(texts):
        prompt = emo_tiny.token_ids(judge.prompt(text))
        for j, label in enumerate(judge.label_ids):
            label = label[:1] if first_only else label
            ids = torch.tensor([prompt + label])
            logp = torch.log_softmax(emo_tiny.forward(ids, torch.ones_like(ids))[0].float(), dim=-1)
            ref = sum(logp[len(prompt) - 1 + k, t] for k, t in enumerate(label))
            assert fast[i, j].item() == pytest.approx(float(ref), abs=1e-3)
    judge.calibrate = False
    assert judge.classify(texts) == [JUDGE_LABELS[k] for k in fast.argmax(dim=-1).tolist()]
    judge.calibrate = True  # the prior (content-free replies' mean score) is subtracted first
    prior = judge.scores(LLMJudge.CONTENT_FREE).mean(dim=0)
    assert judge.classify(texts) == [JUDGE_LABELS[k] for k in (fast - prior).argmax(dim=-1).tolist()]


def test_llm_judge_from_the_config_names_a_model():
    judge = make_judge("llm", llm_model="emo-tiny")
    assert judge.name == "llm" and judge.classify(["I am furious."])[0] in JUDGE_LABELS
