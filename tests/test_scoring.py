"""Scorers per and cer, the validation rates and the edit counts under them, against counts
worked by hand."""
import pytest
import torch
from fairseq import options
from fairseq.data import Dictionary
from fairseq.logging import metrics
from fairseq.scoring import build_scorer

import xlsr_plugin  # noqa: F401  (registers the scorers)
from xlsr_plugin.scoring.edit_counts import (characters, characters_and_boundaries,
                                             edit_counts, phones)
from xlsr_plugin.scoring.valid_rates import count_rate, log_rates


def test_units_ignore_word_boundaries_and_non_linguistic_symbols():
    assert phones("t a l o | k i i t o s") == ["t", "a", "l", "o", "k", "i", "i", "t", "o", "s"]
    assert phones("tʃ aː | ŋ") == ["tʃ", "aː", "ŋ"]  # multi-character phones stay whole
    assert phones("a | <unk-speech> | b") == ["a", "b"]
    assert characters("h e l l o | w o |") == list("hellowo")
    assert characters("hello wo") == list("hellowo")  # after --post-process letter
    assert characters("a | <unk-speech> | b |") == ["a", "b"]


def test_characters_and_boundaries_as_espnet_counts_them():
    # `<space>` is a unit between words; none at the ends, repeats merged
    assert characters_and_boundaries("h e l l o | w o |") == list("hello|wo")
    assert characters_and_boundaries("  hello   wo ") == list("hello|wo")
    assert characters_and_boundaries("a | <unk-speech> | b |") == ["a", "|", "b"]
    assert characters_and_boundaries("hello <unk-speech> wo") == list("hello|wo")
    assert characters_and_boundaries("") == []


def test_edit_counts_by_hand():
    # ref k i s a, hyp k y s a a: k=k, i->y (S), s=s, a=a, +a (I)
    c = edit_counts(list("kisa"), list("kysaa"))
    assert (c.substitutions, c.deletions, c.insertions, c.reference_length) == (1, 0, 1, 4)
    # ref v e s i, hyp e s: v deleted, i deleted
    c = edit_counts(list("vesi"), list("es"))
    assert (c.substitutions, c.deletions, c.insertions) == (0, 2, 0)
    assert edit_counts([], list("ab")).insertions == 2
    assert edit_counts(list("ab"), []).deletions == 2


def test_per_is_corpus_level_not_a_mean_of_utterances():
    per = build_scorer("per", None)
    per.add_string("a b | c d", "a b | c d")      # 0 errors / 4 phones
    per.add_string("e", "f")                      # 1 error / 1 phone
    # corpus level: 1 / 5 = 20 %; the mean of utterance rates would be 50 %
    assert per.score() == pytest.approx(20.0)
    assert per.result_string().startswith("PER: 20.00")


def test_cer_counts_the_word_boundary_as_one_unit():
    cer = build_scorer("cer", None)
    cer.add_string("k i s s a | t a l o |", "k i s s a t a l o |")  # words merged: 1 deletion
    cer.add_string("yö", "yo")                                      # 1 substitution
    # references: k i s s a | t a l o (10 units) + y ö (2)
    assert cer.score() == pytest.approx(100.0 * 2 / 12)
    assert cer.result_string().startswith("CER: 16.67")


def test_cer_without_word_boundaries_on_request():
    parser = options.get_generation_parser()
    args = options.parse_args_and_arch(parser, [
        "DATA", "--task", "audio_pretraining", "--scoring", "cer",
        "--cer-ignore-word-boundaries"])
    cer = build_scorer(args, None)  # as fairseq's registry builds it from an argparse namespace
    cer.add_string("k i s s a | t a l o |", "k i s s a t a l o |")  # a merge is free here
    cer.add_string("k i s s a |", "k i s a |")                      # 1 deletion
    assert cer.score() == pytest.approx(100.0 * 1 / 14)


def test_stock_wer_still_registered():
    wer = build_scorer("wer", None)
    wer.add_string("hello world", "hello word")
    assert wer.score() == pytest.approx(50.0)


class FrameScores(torch.nn.Module):
    """A model whose output is given log-probabilities [frame, batch, symbol]."""

    def get_normalized_probs(self, net_output, log_probs):
        return net_output["encoder_out"]


def one_hot_frames(dictionary, paths):
    frames = max(len(p) for p in paths)
    scores = torch.full((frames, len(paths), len(dictionary)), -10.0)
    for b, path in enumerate(paths):
        for t, symbol in enumerate(path):
            scores[t, b, dictionary.index(symbol)] = 0.0
    return scores


def test_validation_per_leaves_word_boundaries_out():
    dictionary = Dictionary()  # <s> (CTC blank), <pad>, </s>, <unk>
    for symbol in ("a", "b", "c", "|"):
        dictionary.add_symbol(symbol)
    targets = [dictionary.encode_line(line, add_if_not_exist=False, append_eos=False).long()
               for line in ("a | c", "b c")]
    target = torch.full((2, 3), dictionary.pad())
    target[0], target[1, :2] = targets[0], targets[1]
    # greedy paths: a a <s> | b -> `a | b` (1 substitution of c); b <s> c <pad> -> `b c`
    scores = one_hot_frames(dictionary, [["a", "a", "<s>", "|", "b"], ["b", "<s>", "c", "c"]])
    padding = torch.tensor([[False] * 5, [False] * 4 + [True]])
    log = {}
    count_rate(log, FrameScores(), {"encoder_out": scores, "padding_mask": padding}, target,
               dictionary, blank=dictionary.bos(), labels="phn")
    # `uer` would count 5 units with `|`; the hypotheses hold 5 symbols (`a | b`, `b c`), as
    # many as the references (`a | c`, `b c`): hyp_len (run health) 100
    assert log == {"_per_errors": 1, "_per_units": 4, "_hyp_symbols": 5, "_ref_symbols": 5}
    with metrics.aggregate() as agg:
        log_rates([log, {"_per_errors": 1, "_per_units": 6}])
        assert agg.get_smoothed_values()["per"] == pytest.approx(20.0)


def test_cer_hypothesis_without_a_boundary_is_one_spelled_word():
    cer = build_scorer("cer", None)
    cer.add_string("წ მ ი ნ დ ა |", "წ მ ი ნ დ ა")  # the reference minus its final `|`: no error
    assert (cer.errors, cer.reference_length) == (0, 6)
    # k i s s a | t a l o (10 units) against kissatalo (9): the `|` deleted
    cer.add_string("k i s s a | t a l o |", "k i s s a t a l o")
    assert (cer.errors, cer.reference_length) == (1, 16)


def test_unknown_reference_symbol_is_one_unit_in_every_scorer():
    """fairseq-generate prints a reference symbol the dictionary lacks as `<<unk>>`."""
    per = build_scorer("per", None)
    per.add_string("a <<unk>> | b", "a x | b")  # a, <<unk>> -> x (S), b: 1 error / 3 phones
    assert (per.errors, per.reference_length) == (1, 3)
    parser = options.get_generation_parser()
    ignore = options.parse_args_and_arch(parser, ["DATA", "--task", "audio_pretraining", "--scoring",
                                                  "cer", "--cer-ignore-word-boundaries"])
    for cer in (build_scorer("cer", None), build_scorer(ignore, None)):
        cer.add_string("k <<unk>> s a |", "k i s a |")  # k, <<unk>> -> i (S), s, a: 1 / 4
        cer.add_string("k<<unk>>sa", "kisa")            # the same after --post-process letter
        assert (cer.errors, cer.reference_length) == (2, 8)
    assert characters("k<<unk>>sa") == ["k", "<<unk>>", "s", "a"]


def test_validation_cer_counts_as_the_scorer():
    dictionary = Dictionary()
    for symbol in ("a", "b", "|"):
        dictionary.add_symbol(symbol)
    # target `a <unk> |` (a letter the dictionary lacks), greedy path `a b`, no final `|`
    target = torch.tensor([[dictionary.index("a"), dictionary.unk(), dictionary.index("|")]])
    scores = one_hot_frames(dictionary, [["a", "<s>", "b"]])
    log = {}
    count_rate(log, FrameScores(), {"encoder_out": scores}, target, dictionary,
               blank=dictionary.bos(), labels="ltr")
    # reference a <<unk>> (2 units), hypothesis a b: <<unk>> -> b, 1 substitution; the health
    # check's lengths: 2 hypothesis symbols, 3 target symbols (a <unk> |)
    assert log == {"_cer_errors": 1, "_cer_units": 2, "_hyp_symbols": 2, "_ref_symbols": 3}
    cer = build_scorer("cer", None)
    cer.add_string("a <<unk>> |", "a b")  # the T- and H- lines fairseq-generate would print
    assert (cer.errors, cer.reference_length) == (1, 2)


def test_score_line_says_how_cer_counted():
    from xlsr_plugin.scoring.score_line import read_score_line

    parser = options.get_generation_parser()
    args = options.parse_args_and_arch(parser, ["DATA", "--task", "audio_pretraining", "--scoring",
                                                "cer", "--cer-ignore-word-boundaries"])
    cer = build_scorer(args, None)
    cer.add_string("a b | c |", "a b c")
    line = f"Generate test_ka with beam=5: {cer.result_string()}"
    assert line.endswith("CER: 0.00 (0 errors / 3 reference units, 1 utterances; word boundaries ignored)")
    assert read_score_line(line).unit == "char_only"
    assert read_score_line("Generate test with beam=5: CER: 1.00 (1 errors / 100 reference units, "
                           "2 utterances)").unit == "char"
