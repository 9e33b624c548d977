"""CTC decoders on hand-made emissions: greedy Viterbi, beam search, a KenLM model written by
hand that overturns a greedy mistake, and a lexicon (also through fairseq-generate)."""
import math
import re

import editdistance
import pytest
import torch
from fairseq.data import Dictionary

import test_finetuning_e2e
from xlsr_plugin.decoding.ctc import BeamSearchDecoder, LexiconWords, ViterbiDecoder

finetuned = test_finetuning_e2e.finetuned  # its fixtures: a tiny fine-tuned phone model
finetuning_data = test_finetuning_e2e.finetuning_data

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


@pytest.fixture
def lexicon_dictionary():
    d = Dictionary()
    for symbol in "| a l m n s o r b i".split():
        d.add_symbol(symbol)
    return d


def spelt_frames(dictionary, spelling):
    """One confident frame per token, a blank after each: the greedy path is `spelling`."""
    frames = []
    for token in spelling.split():
        frames += [{token: 1.0}, {"<s>": 1.0}]
    return emissions(dictionary, frames)


def test_lexicon_decode_drops_the_word_it_stops_inside(lexicon_dictionary, tmp_path):
    """The audio ends inside `alasorbi`: flashlight's best path ends there too, and torchaudio
    leaves the fragment out of its words but not out of its tokens."""
    lexicon = tmp_path / "lexicon.txt"
    lexicon.write_text("nama\tn a m a |\nalasorbi\ta l a s o r b i |\n")
    lprobs, lengths = spelt_frames(lexicon_dictionary, "n a m a | a l a s o r b")
    decoder = BeamSearchDecoder(lexicon_dictionary, beam=50, nbest=3, lexicon=str(lexicon))
    raw = decoder.decoder(lprobs, lengths.to(torch.int32))[0][0]
    assert raw.words == ["nama"] and "a l a s o r b" in text(lexicon_dictionary, {"tokens": raw.tokens})
    nbest, = decoder.decode(lprobs, lengths)
    # the best two end inside alasorbi (one hypothesis once cut there); the third spells it
    # in full, all but its closing boundary
    assert [text(lexicon_dictionary, h) for h in nbest] == ["n a m a |", "n a m a | a l a s o r b i"]
    assert nbest[0]["positional_scores"].shape == (5,)
    # without a lexicon the decoder spells the acoustic path, fragment included, as before
    (free,), = BeamSearchDecoder(lexicon_dictionary, beam=50).decode(lprobs, lengths)
    assert text(lexicon_dictionary, free) == "n a m a | a l a s o r b"


def test_a_last_word_without_its_closing_boundary_is_a_word(lexicon_dictionary, tmp_path):
    lexicon = tmp_path / "lexicon.txt"
    lexicon.write_text("nama\tn a m a |\nala\ta l a |\nalasorbi\ta l a s o r b i |\n")
    words = LexiconWords(str(lexicon), lexicon_dictionary, lexicon_dictionary.index("|"))
    tokens = [lexicon_dictionary.index(t) for t in "| n a m a | | a l a s o r b i".split()]
    assert words.words_end(tokens, ["nama"]) == len(tokens)  # alasorbi, its `|` not emitted
    assert words.words_end(tokens[:10], ["nama"]) == 10  # ala
    assert words.words_end(tokens[:11], ["nama"]) == 7  # `a l a s`: nama and the boundaries after it


def hypotheses(stdout):
    """{utterance: [printed hypotheses, best first]} and {utterance: reference} of generate."""
    hyps, refs = {}, dict(re.findall(r"^T-(\d+)\t(.*)$", stdout, re.M))
    for i, hyp in re.findall(r"^H-(\d+)\t\S+\t(.*)$", stdout, re.M):
        hyps.setdefault(i, []).append(hyp)
    return hyps, refs


def test_generate_with_a_lexicon_prints_lexicon_words_only(finetuned, finetuning_data, tmp_path):
    """Every word of every printed hypothesis is a lexicon spelling; the PER line scores the
    printed best hypotheses (recomputed here from the printed lines)."""
    words = test_finetuning_e2e.WORDS["fi"]
    lexicon = tmp_path / "lexicon.txt"
    lexicon.write_text("".join(f"{w}\t{' '.join(w)} |\n" for w in words))
    spelt = {" ".join(w) for w in words}
    # beam 1: on this model the decoder stops inside `yö` in utterance 0 (`... a i k a | y`)
    stdout, _ = test_finetuning_e2e.generate(finetuning_data, finetuned[0], "test_fi", "--lexicon",
                                             str(lexicon), "--beam", "1", cwd=tmp_path)
    hyps, refs = hypotheses(stdout)
    printed = [w.strip() for nbest in hyps.values() for h in nbest for w in h.split("|")]
    assert {w for w in printed if w} <= spelt and len(hyps) == len(refs) == 2 and any(printed), stdout
    phones = {i: [p for p in text.split() if p != "|"] for i, text in refs.items()}
    errors = sum(editdistance.eval(phones[i], [p for p in hyps[i][0].split() if p != "|"]) for i in refs)
    score = re.search(r"PER: [\d.]+ \((\d+) errors / (\d+)", stdout)
    assert (int(score.group(1)), int(score.group(2))) == (errors, sum(map(len, phones.values())))
