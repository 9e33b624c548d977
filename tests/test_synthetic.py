"""xlsr_plugin.synthetic: deterministic espeak-ng speech, CLDR sentences, real file formats."""
import unicodedata

import numpy as np
import pytest
import soundfile as sf

from xlsr_plugin.synthetic import (default_espeak_voice, make_commonvoice_release, make_sentences,
                                   speaker_voices, synthesize)


def test_sentences_are_deterministic_and_in_script():
    assert make_sentences("ru", 3, seed=4) == make_sentences("ru", 3, seed=4)
    assert make_sentences("ru", 3, seed=4) != make_sentences("ru", 3, seed=5)
    letters = [c for s in make_sentences("ru", 5) for c in s if c.isalpha()]
    assert all("CYRILLIC" in unicodedata.name(c) for c in letters)
    assert all(s.endswith("。") for s in make_sentences("zh-CN", 2))


@pytest.mark.parametrize("lang,voice", [("zh-CN", "cmn-latn-pinyin"), ("sv-SE", "sv"), ("fr", "fr-fr"),
                                        ("ky", "ky"), ("tt", "tt")])
def test_voices(lang, voice):
    assert default_espeak_voice(lang) == voice
    assert len(set(speaker_voices(lang, 15))) == 15


def test_voice_shift_trains_on_the_unshifted_test_and_dev_voices():
    low = [v.split("+")[1] for v in speaker_voices("ky", 4)]
    rich = [v.split("+")[1] for v in speaker_voices("es", 8, shift=2)]
    assert low == ["m1", "f2", "m3", "f1"]  # test, dev, then training voices
    assert rich[:2] == ["m3", "f1"] and set(low[:2]) <= set(rich[2:])  # ky's test/dev train es
    assert len(set(rich)) == 8 and len(set(speaker_voices("es", 14, shift=2))) == 14


def test_speech_is_16k_and_deterministic():
    texts = make_sentences("fi", 2, seed=1)
    voices = speaker_voices("fi", 2)
    first, second = synthesize(texts, voices), synthesize(texts, voices)
    for a, b in zip(first, second):
        assert a.dtype == np.float32 and 0.5 < len(a) / 16000 < 15
        np.testing.assert_array_equal(a, b)
    assert np.abs(first[0]).max() > 0.05


def test_commonvoice_release_layout(tmp_path):
    summary = make_commonvoice_release(tmp_path, {"tt": 4}, seed=2, broken=True)
    folder = tmp_path / "tt"
    assert (summary["tt"]["test"], summary["tt"]["dev"]) == (2, 1)  # speakers take turns
    header = (folder / "train.tsv").read_text().splitlines()[0].split("\t")
    assert header[:4] == ["client_id", "path", "sentence_id", "sentence"]
    info = sf.info(next(folder.glob("clips/common_voice_*.mp3")))
    assert (info.format, info.samplerate, info.channels) == ("MP3", 48000, 1)
    assert sf.info(folder / "clips" / "stereo.mp3").channels == 2
    assert not (folder / "clips" / "missing.mp3").exists()
    rows = (folder / "validated.tsv").read_text().splitlines()[1:]
    assert len(rows) == sum(summary["tt"].values())
