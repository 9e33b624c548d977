"""The one language table: corpus names -> language codes -> espeak-ng voices and CLDR locales.

Imported by the data preparation (codes of Common Voice locales and MLS names, phonemizer
voices), the synthetic speech (espeak-ng voices, CLDR vocabularies) and the demo (its Common Voice
locales). Pure tables and string functions: no fairseq, torch or espeak-ng import.

A language code is the name of a DATA/<lang>/ folder: ISO 639-1 where one exists, else 639-3,
lowercase (DESIGN.md).
"""

# Common Voice locales with a region part: the language code they get in DATA. Others are
# lowercased (``rm-sursilv`` stays itself). zh-HK recordings are Cantonese.
CV_LOCALE_TO_LANG = {"sv-SE": "sv", "zh-CN": "zh", "zh-HK": "yue", "zh-TW": "zh-tw", "ga-IE": "ga",
                     "hy-AM": "hy", "pa-IN": "pa", "ne-NP": "ne", "nn-NO": "nn", "es-AR": "es-ar"}
_LANG_TO_CV_LOCALE = {lang: locale for locale, lang in CV_LOCALE_TO_LANG.items()}

# Multilingual LibriSpeech release names (``mls_<name>[_opus]``) -> language codes.
MLS_LANGUAGES = {"english": "en", "german": "de", "dutch": "nl", "french": "fr", "spanish": "es",
                 "italian": "it", "portuguese": "pt", "polish": "pl"}

# espeak-ng voices for codes that are not voice names themselves (others: the code, then the
# part before a hyphen). Mandarin: `cmn` reads Han characters as English letters on espeak-ng
# 1.51; `cmn-latn-pinyin` reads Han characters and pinyin alike as Mandarin (phones with tone
# digits).
ESPEAK_VOICES = {"zh": "cmn-latn-pinyin", "zh-tw": "cmn-latn-pinyin", "yue": "yue", "fr": "fr-fr",
                 "en": "en-us", "kmr": "ku", "tl": "fil"}

# CLDR locales (the ``babel`` package) for codes whose locale has another name.
CLDR_LOCALES = {"zh-tw": "zh_Hant_TW"}

# Languages written without spaces between words.
UNSPACED = ("zh", "yue", "ja")


def lang_code(name: str) -> str:
    """The DATA language code of a code or a Common Voice locale (``sv-SE`` -> ``sv``,
    ``zh-HK`` -> ``yue``, ``fi`` -> ``fi``)."""
    return CV_LOCALE_TO_LANG.get(name, name.lower())


def cv_locale(lang: str) -> str:
    """The Common Voice locale of a language code (``sv`` -> ``sv-SE``; ``fi`` -> ``fi``)."""
    return _LANG_TO_CV_LOCALE.get(lang, lang)


def default_espeak_voice(name: str) -> str:
    """The espeak-ng voice of ``name`` (a code or a Common Voice locale): the table's, else the
    code's language part (``zh-CN`` -> ``cmn-latn-pinyin``, ``es-ar`` -> ``es``). Not checked
    against the installed espeak-ng: ``labels.installed_espeak_voice`` is."""
    code = lang_code(name)
    return ESPEAK_VOICES.get(code, code.split("-")[0])


def espeak_voice_candidates(name: str) -> list:
    """espeak-ng voices that may read ``name``, best first: the table's, the code itself (a
    regional voice such as ``pt-br``), its language part."""
    code = lang_code(name)
    return [v for v in dict.fromkeys((ESPEAK_VOICES.get(code), code, code.split("-")[0])) if v]


def cldr_locale(name: str) -> str:
    """The CLDR locale of a code or a Common Voice locale (``zh-CN`` -> ``zh``)."""
    code = lang_code(name)
    return CLDR_LOCALES.get(code, code.replace("-", "_"))


def is_unspaced(name: str) -> bool:
    """Whether ``name``'s script writes words without spaces between them."""
    return lang_code(name).split("-")[0] in UNSPACED
