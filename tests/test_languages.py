"""The language table: every language the demo and the tests use has a code, a voice that both
espeak-ng (speech) and phonemizer (labels) know, CLDR words and phonemes."""
import re

import pytest

from examples.xlsr10_mini.settings import HIGH, LOW, MID, Settings
from xlsr_plugin.preparation import labels
from xlsr_plugin.preparation.languages import (MLS_LANGUAGES, cv_locale, default_espeak_voice,
                                               lang_code)
from xlsr_plugin.synthetic import make_sentences, speaker_voices, synthesize

# The demo's ten Common Voice locales, the pretraining tests' languages (tests/conftest.py), the
# synthetic MLS and BABEL releases' languages (tests/test_manifests_{mls,babel}.py).
USED = sorted(set(HIGH + MID + LOW) | {"fi", "sw", "ka"} | {"pl", "pt"})


@pytest.mark.parametrize("name", USED)
def test_code_voice_and_phonemes(name):
    code = lang_code(name)
    assert re.fullmatch(r"[a-z]{2,3}(-[a-z]+)?", code) and cv_locale(code) == name
    voice = default_espeak_voice(name)
    assert labels.installed_espeak_voice(code) == voice  # the labels' voice is the speech's voice
    (sentence,) = make_sentences(name, 1, seed=3)
    (phones,) = labels.phonemize([sentence], voice)
    assert len(phones.split()) >= 3 and "(" not in phones  # no language-switch flag such as (en)
    (audio,) = synthesize([sentence], speaker_voices(name, 1))
    assert len(audio) > 8000


def test_demo_languages_are_codes_of_the_table():
    assert Settings().langs == ["es", "fr", "it", "ky", "nl", "ru", "sv", "tr", "tt", "zh"]
    assert {cv_locale(c) for c in Settings().langs} == set(HIGH + MID + LOW)


@pytest.mark.parametrize("name,code,voice", [("zh-CN", "zh", "cmn-latn-pinyin"),
                                             ("zh-HK", "yue", "yue"), ("sv-SE", "sv", "sv"),
                                             ("es-AR", "es-ar", "es"), ("fr", "fr", "fr-fr")])
def test_hand_checked_entries(name, code, voice):
    assert (lang_code(name), default_espeak_voice(name)) == (code, voice)


def test_mls_names_are_codes():
    assert MLS_LANGUAGES["polish"] == "pl"
    assert all(map(labels.installed_espeak_voice, MLS_LANGUAGES.values()))
