"""Scorers per and cer, and the edit counts under them, against counts worked by hand."""
import pytest
from fairseq.scoring import build_scorer

import xlsr_plugin  # noqa: F401  (registers the scorers)
from xlsr_plugin.scoring.edit_counts import characters, edit_counts, phones


def test_units_ignore_word_boundaries():
    assert phones("t a l o | k i i t o s") == ["t", "a", "l", "o", "k", "i", "i", "t", "o", "s"]
    assert phones("tʃ aː | ŋ") == ["tʃ", "aː", "ŋ"]  # multi-character phones stay whole
    assert characters("h e l l o | w o |") == list("hellowo")
    assert characters("hello wo") == list("hellowo")  # after --post-process letter


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


def test_cer_counts_characters_without_spaces_and_boundaries():
    cer = build_scorer("cer", None)
    cer.add_string("k i s s a |", "k i s a |")    # 1 deletion / 5 characters
    cer.add_string("yö", "yo")                    # 1 substitution / 2 characters
    assert cer.score() == pytest.approx(100.0 * 2 / 7)
    assert cer.result_string().startswith("CER: 28.57")


def test_stock_wer_still_registered():
    wer = build_scorer("wer", None)
    wer.add_string("hello world", "hello word")
    assert wer.score() == pytest.approx(50.0)
