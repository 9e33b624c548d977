"""CTC decoders on hand-made emissions: greedy Viterbi, beam search, a KenLM model written by
hand that overturns a greedy mistake, and a lexicon."""
import math

import pytest
import torch
from fairseq.data import Dictionary

from xlsr_plugin.decoding.ctc import BeamSearchDecoder, ViterbiDecoder

# Dictionary: <s>=0 (blank) <pad>=1 </s>=2 <unk>=3 |=4 a=5 b=6
# Three frames: b barely beats a, then blank, then b barely beats a again. Greedy reads "b b".
FRAMES = [
    {"b": 0.45, "a": 0.40, "<s>": 0.10, "|": 0.05},
    {"<s>": 0.80, "|": 0.10, "a": 0.05, "b": 0.05},
    {"b": 0.45, "a": 0.40, "<s>": 0.10, "|": 0.05},
]
# A bigram LM over the tokens in which "b" is rare and "a a" likely (ARPA: log10, tabs).
ARPA = "\n".join([
    "\\data\\", "ngram 1=6", "ngram 2=3", "",
    "\\1-grams:",
    "-99\t<s>\t-0.3", "-1.0\t</s>", "-3.0\t<unk>", "-0.5\ta\t-0.3", "-3.0\tb\t-0.3", "-1.0\t|\t-0.3",
    "", "\\2-grams:", "-0.1\t<s> a", "-0.1\ta a", "-0.1\ta </s>", "", "\\end\\", "",
])


@pytest.fixture
def dictionary():
    d = Dictionary()
    for symbol in ("|", "a", "b"):
        d.add_symbol(symbol)
    return d


def emissions(dictionary, frames=FRAMES):
    probs = torch.full((len(frames), len(dictionary)), 1e-6)
    for t, frame in enumerate(frames):
        for symbol, p in frame.items():
            probs[t, dictionary.index(symbol)] = p
    return (probs / probs.sum(-1, keepdim=True)).log()[None], torch.tensor([len(frames)])


def text(dictionary, hypothesis):
    return dictionary.string(hypothesis["tokens"])


def test_viterbi_merges_repeats_and_drops_blanks(dictionary):
    frames = [{"a": 0.9}, {"a": 0.9}, {"<s>": 0.9}, {"a": 0.9}, {"|": 0.9}, {"b": 0.9}, {"<s>": 0.9}]
    lprobs, lengths = emissions(dictionary, frames)
    (hypothesis,), = ViterbiDecoder(dictionary).decode(lprobs, lengths)
    assert text(dictionary, hypothesis) == "a a | b"
    assert hypothesis["score"] == pytest.approx(lprobs.max(-1).values.sum().item())
    assert hypothesis["positional_scores"].shape == (4,)
    assert hypothesis["alignment"] is None


def test_viterbi_stops_at_each_utterance_length(dictionary):
    lprobs, _ = emissions(dictionary, [{"a": 0.9}, {"b": 0.9}])
    lprobs = lprobs.expand(2, -1, -1)
    first, second = ViterbiDecoder(dictionary).decode(lprobs, torch.tensor([2, 1]))
    assert text(dictionary, first[0]) == "a b" and text(dictionary, second[0]) == "a"


def test_beam_without_lm_agrees_with_greedy(dictionary):
    lprobs, lengths = emissions(dictionary)
    greedy = ViterbiDecoder(dictionary).decode(lprobs, lengths)[0][0]
    beam = BeamSearchDecoder(dictionary, beam=8).decode(lprobs, lengths)[0][0]
    assert text(dictionary, greedy) == text(dictionary, beam) == "b b"
    assert beam["score"] == pytest.approx(greedy["score"], abs=1e-4)


def test_language_model_overturns_a_greedy_mistake(dictionary, tmp_path):
    lm = tmp_path / "tokens.arpa"
    lm.write_text(ARPA)
    lprobs, lengths = emissions(dictionary)
    decoder = BeamSearchDecoder(dictionary, beam=8, kenlm_model=str(lm), lm_weight=1.0)
    (hypothesis,), = decoder.decode(lprobs, lengths)
    assert text(dictionary, hypothesis) == "a a"
    # positional scores are the acoustic log-probabilities of the chosen tokens
    assert hypothesis["positional_scores"].tolist() == pytest.approx([math.log(0.40)] * 2, abs=1e-3)


def test_lexicon_restricts_words(dictionary, tmp_path):
    lexicon = tmp_path / "lexicon.txt"
    lexicon.write_text("aa\ta a\n")
    lprobs, lengths = emissions(dictionary)
    (hypothesis,), = BeamSearchDecoder(dictionary, beam=8, lexicon=str(lexicon)).decode(lprobs, lengths)
    assert text(dictionary, hypothesis).replace(" |", "") == "a a"
