"""The fine-tuning dictionary as a transformers CTC tokenizer.

vocab.json keeps fairseq's class order, so class i of the exported CTC head is token i. The CTC
blank, fairseq's class 0 (its `<s>`), is transformers' blank, the pad token, and is named
`<pad>`; fairseq's `<pad>` takes the name `<s>` (the names transformers' own converter gives).
The dictionary's unknown word is the unk token.

Letter models (any labels but phones) get Wav2Vec2CTCTokenizer with `|` as its word delimiter:
`batch_decode` of the greedy classes gives fairseq's greedy hypothesis post-processed as
`letter` (tokens joined, `|` read as a space). Phone models (`labels=phn`) get
Wav2Vec2PhonemeCTCTokenizer, phones joined by spaces, as fairseq-generate prints them without
post-processing; `|` stays a token of its own (that tokenizer drops its word delimiter from
transcripts), so word boundaries print as in fairseq's H- line.

fairseq's `<pad>` and `</s>` are classes of the CTC head that no target holds; fairseq's decoder
drops them (a frame that picks one reads as a blank). A tokenizer treats one class only as the
blank: `never_targets` are the other two, which a transcriber maps to the blank before decoding.
"""
import json
import os
from typing import Optional

from fairseq.data import Dictionary
from transformers import Wav2Vec2CTCTokenizer, Wav2Vec2PhonemeCTCTokenizer

BLANK = 0  # fairseq's ctc criterion and decoders: class 0
WORD_DELIMITER = "|"
PHONE_LABELS = ("phn",)  # fine-tuning label extensions whose units are phones


def hf_vocabulary(dictionary: Dictionary) -> dict:
    """{token: class index} with the blank and fairseq's pad renamed as transformers has them."""
    names = list(dictionary.symbols)
    pad = dictionary.pad()
    if pad != BLANK:
        names[BLANK], names[pad] = dictionary.pad_word, dictionary.bos_word
    vocabulary = {name: index for index, name in enumerate(names)}
    if len(vocabulary) != len(names):
        repeated = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"the dictionary names these symbols more than once: {repeated}")
    return vocabulary


def ctc_tokenizer(dictionary: Dictionary, folder: str, labels: Optional[str] = None):
    """Writes folder/vocab.json and returns the tokenizer reading it: a phoneme tokenizer for
    `labels` in PHONE_LABELS, else a letter one."""
    vocabulary = hf_vocabulary(dictionary)
    names = list(vocabulary)
    path = os.path.join(folder, "vocab.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(vocabulary, f, ensure_ascii=False, indent=1)
    special = dict(pad_token=names[BLANK], bos_token=names[dictionary.pad()],
                   eos_token=names[dictionary.eos()], unk_token=names[dictionary.unk()])
    if labels in PHONE_LABELS:
        # do_phonemize=False: transcripts are phones already (and phonemizer is not needed)
        return Wav2Vec2PhonemeCTCTokenizer(path, phone_delimiter_token=" ", word_delimiter_token=None,
                                           do_phonemize=False, **special)
    return Wav2Vec2CTCTokenizer(path, word_delimiter_token=WORD_DELIMITER, **special)


def never_targets(tokenizer) -> list:
    """Class indices of fairseq's `<pad>` and `</s>` (named `<s>`, `</s>` here)."""
    return [tokenizer.bos_token_id, tokenizer.eos_token_id]
