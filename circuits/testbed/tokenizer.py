"""The ``emo-tiny`` tokenizer: byte-level BPE trained with ``tokenizers`` on the corpus.

Byte-level means every string tokenizes (unknown words fall back to smaller pieces, down to
bytes), which is what lets the testbed read the study's own SEV text it was never trained on.
The chat-role markers are added as special tokens so they are single, unsplittable tokens.
"""

from __future__ import annotations

from collections.abc import Iterable

from circuits.model.emo_tiny import SPECIAL_TOKENS


def train_tokenizer(texts: Iterable[str], vocab_size: int):
    """A deterministic byte-level BPE ``tokenizers.Tokenizer`` trained on ``texts``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return tok
