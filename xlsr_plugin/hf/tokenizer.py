"""The fine-tuning dictionary as a transformers CTC tokenizer.

vocab.json keeps fairseq's class order, so class i of the exported CTC head is token i. The CTC
blank, fairseq's class 0 (its `<s>`), is transformers' blank, the pad token, and is named
`<pad>`; fairseq's `<pad>` takes the name `<s>` (the names transformers' own converter gives).
`|` is the word delimiter and the dictionary's unknown word the unk token, so `batch_decode`
of the greedy classes gives fairseq's greedy hypothesis post-processed as `letter` (spaces
between tokens dropped, `|` read as a space).
"""
import json
import os

from fairseq.data import Dictionary
from transformers import Wav2Vec2CTCTokenizer

BLANK = 0  # fairseq's ctc criterion and decoders: class 0
WORD_DELIMITER = "|"


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


def ctc_tokenizer(dictionary: Dictionary, folder: str) -> Wav2Vec2CTCTokenizer:
    """Writes folder/vocab.json and returns the tokenizer reading it."""
    vocabulary = hf_vocabulary(dictionary)
    names = list(vocabulary)
    path = os.path.join(folder, "vocab.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(vocabulary, f, ensure_ascii=False, indent=1)
    return Wav2Vec2CTCTokenizer(
        path,
        pad_token=names[BLANK],
        bos_token=names[dictionary.pad()],
        eos_token=names[dictionary.eos()],
        unk_token=names[dictionary.unk()],
        word_delimiter_token=WORD_DELIMITER,
    )
