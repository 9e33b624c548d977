"""Label normalization, letters, phonemes and few-shot draws, with hand-worked answers."""
import pytest

from xlsr_plugin.preparation.commonvoice import main as commonvoice_main
from xlsr_plugin.preparation.fewshot import (balanced_order, fewshot_name, fewshot_names,
                                             nested_subsets)
from _manifest_checks import read_dict
from xlsr_plugin.preparation.labels import (installed_espeak_voice, letters, normalize_words,
                                            phonemize, write_language_dicts, write_union_dicts)


@pytest.mark.parametrize("text,lang,words", [
    ("L’eau, c'est « bon » — Saint-Étienne !", "fr", "l'eau c'est bon saint-étienne"),
    ("IŞIK ve İstanbul.", "tr", "ışık ve istanbul"),
    ("'quoted' -dash- rock'n'roll", "en", "quoted dash rock'n'roll"),
    ("ﬁnal １２３", "en", "final 123"),  # NFKC
    ("南阿尔泰语，满语。", "zh", "南阿尔泰语 满语"),
    ("Привет, мир!", "ru", "привет мир"),
])
def test_normalize_words(text, lang, words):
    assert normalize_words(text, lang) == words


def test_letters():
    assert letters("ab c") == "a b | c |"


def test_phonemize_keeps_lines_aligned():
    voice = installed_espeak_voice("es")
    assert voice == "es" and installed_espeak_voice("zh") == "cmn-latn-pinyin"
    assert installed_espeak_voice("xx") is None
    out = phonemize(["hola amigo", "", "sí"], voice)
    assert out[1] == "" and out[0].count("|") == 1 and out[2]
    assert out[0].split(" | ")[0].split() == ["o", "l", "a"]


def test_fewshot_names_say_their_target():
    assert [fewshot_name(h) for h in (1, 10, 0.5, 1.5, 10 / 3600, 10 / 60)] == [
        "train_1h", "train_10h", "train_30min", "train_90min", "train_10s", "train_10min"]
    # 0.002 h is 7.2 s (was named train_7s), 0.00205 h is 7.38 s (also train_7s)
    assert fewshot_names([0.00205, 0.002, 0.002]) == {0.002: "train_7200ms",
                                                      0.00205: "train_7380ms"}


def test_fewshot_names_that_collide_are_refused(tmp_path, capsys):
    with pytest.raises(ValueError, match="0.002 and 0.0020000001 would both be written as "
                       "train_7200ms"):
        fewshot_names([0.002, 0.0020000001])
    with pytest.raises(ValueError, match="positive number of hours, got 0.0"):
        fewshot_names([1.0, 0.0])
    with pytest.raises(SystemExit) as err:  # the CLI, before anything is read or written
        commonvoice_main(["--root", str(tmp_path / "none"), "--dest", str(tmp_path / "data"),
                          "--fewshot-hours", "0.002,0.0020000001"])
    assert err.value.code == 2 and "would both be written as train_7200ms" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()


def test_balanced_order_and_nesting():
    speakers = ["a", "a", "a", "b", "b", "c"]
    order = balanced_order(speakers, seed=0)
    assert sorted(order) == list(range(6))
    first_three = {speakers[i] for i in order[:3]}
    assert first_three == {"a", "b", "c"}
    assert balanced_order(speakers, seed=0) == order
    frames = [16000] * 6  # 1 s each
    sets = nested_subsets(speakers, frames, [2 / 3600, 4 / 3600, 1.0], seed=0)
    assert [len(sets[h][0]) for h in sorted(sets)] == [2, 4, 6]
    assert set(sets[2 / 3600][0]) <= set(sets[4 / 3600][0])


def test_mandarin_phonemes_are_mandarin():
    from xlsr_plugin.preparation.labels import installed_espeak_voice, phonemize

    (phones,) = phonemize(["中国"], installed_espeak_voice("zh"))
    # ts. o n ɡ5 | k u o ɜ: Mandarin phones with tones, not English letter names
    assert "ts." in phones.split() and "(en)" not in phones and "|" in phones


def test_unknown_speech_is_one_unit_of_every_label_kind(monkeypatch):
    from xlsr_plugin.preparation import pipeline
    from xlsr_plugin.preparation.labels import UNKNOWN_SPEECH as UNK

    assert normalize_words(f"Hello, {UNK} World!{UNK}") == f"hello {UNK} world {UNK}"
    assert letters(f"ab {UNK} c") == f"a b | {UNK} | c |"
    # espeak-ng stand-in: each letter a phone, words split by `|`; it never sees the token
    seen = []

    def fake_phonemize(sentences, voice):
        seen.extend(sentences)
        return [" | ".join(" ".join(w) for w in s.split()) for s in sentences]

    monkeypatch.setattr(pipeline, "phonemize", fake_phonemize)
    out = pipeline.phonemize_sentences([f"ab {UNK} c", UNK, "xy", f"{UNK} ab"], "fi")
    assert out == [f"a b | {UNK} | c", UNK, "x y", f"{UNK} | a b"]
    assert sorted(seen) == ["ab", "c", "xy"]  # each fragment phonemized once


def test_dictionaries_count_training_labels_only(tmp_path):
    """A symbol seen only in valid or test (`c`, `x`) stays out of the model's output layer,
    per language and in the union, as fairseq's and ESPnet's recipes build dictionaries."""
    labels = {"fi": {"train": "a b |\na a |\n", "valid": "a c |\n", "test": "c b |\n"},
              "sw": {"train": "b d |\n", "test": "x |\n"}}
    for lang, splits in labels.items():
        for split, text in splits.items():
            (tmp_path / lang).mkdir(exist_ok=True)
            (tmp_path / lang / f"{split}.phn").write_text(text, encoding="utf-8")
        write_language_dicts(tmp_path / lang)
    write_union_dicts(tmp_path)
    assert read_dict(tmp_path / "fi" / "dict.phn.txt") == {"a": 3, "b": 1, "|": 2}
    assert read_dict(tmp_path / "sw" / "dict.phn.txt") == {"b": 1, "d": 1, "|": 1}
    assert read_dict(tmp_path / "dict.phn.txt") == {"a": 3, "b": 2, "d": 1, "|": 3}
