"""A synthetic XLSR-53-scale corpus description: DATA/<lang>/train.tsv manifests, no audio.

The hours per language follow the shape of XLSR-53's pretraining mix (Conneau et al. 2020: MLS,
Common Voice and BABEL, about 56k hours): one language with tens of thousands of hours (English),
a handful with one to two thousand (the MLS languages), then BABEL's 17 languages with about 40-80
hours each and a long tail of Common Voice languages down to a couple of hours. The values below are
a plausible long tail written for this benchmark (rounded, not copied figure by figure), jittered
with a fixed seed; utterance counts are proportional to hours, durations uniform in [2, 35] s.

With `corpora`, each language's hours are split over the corpora it came from in XLSR-53
(DATA/<corpus>/<lang>/train.tsv): the 8 MLS languages are in MLS and Common Voice (CV_OF_MLS
hours in Common Voice, a plausible size, rounded), BABEL languages in BABEL (Turkish also in
Common Voice), the others in Common Voice alone.
"""
import json
import os
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

SAMPLE_RATE = 16000
MIN_SECONDS, MAX_SECONDS = 2.0, 35.0  # every utterance passes xlsr_base's min_sample_size (2 s)

HEAD = {"en": 44600, "de": 2300, "nl": 1600, "fr": 1300, "es": 1000, "it": 300, "pt": 170, "pl": 110}
BABEL = ["as", "bn", "ceb", "ht", "hy", "ka", "kk", "ku", "lo", "lt", "mn", "ps", "ta", "te", "tl",
         "tr", "vi", "zu"]
COMMON_VOICE = ["ca", "rw", "fa", "eu", "ru", "cy", "kab", "eo", "zh", "ky", "tt", "cv", "ar", "et",
                "id", "mt", "sah", "sl", "sv", "rm", "ia", "ja", "br", "dv", "fy", "ga", "or"]


CV_OF_MLS = {"en": 1000, "de": 400, "fr": 300, "es": 200, "it": 80, "nl": 30, "pt": 20, "pl": 25}
BABEL_ALSO_IN_CV = {"tr": 0.2}  # share of the language in Common Voice


def corpus_shares(lang: str, hours: float) -> Dict[str, float]:
    """corpus -> share of the language's hours, as XLSR-53's corpora hold it."""
    if lang in CV_OF_MLS:
        cv = min(CV_OF_MLS[lang], 0.5 * hours) / hours
        return {"mls": 1 - cv, "cv": cv}
    if lang in BABEL:
        cv = BABEL_ALSO_IN_CV.get(lang, 0.0)
        return {"babel": 1 - cv, "cv": cv} if cv else {"babel": 1.0}
    return {"cv": 1.0}


def language_hours(languages: int = 53, seed: int = 0) -> Dict[str, float]:
    """Hours of audio per language, the head as above, the tail long and jittered."""
    rng = np.random.default_rng(seed)
    hours = dict(HEAD)
    for lang in BABEL:
        hours[lang] = float(np.round(rng.uniform(40, 80), 1))
    tail = np.geomspace(400, 2, len(COMMON_VOICE)) * rng.uniform(0.8, 1.25, len(COMMON_VOICE))
    hours.update({lang: float(np.round(h, 1)) for lang, h in zip(COMMON_VOICE, tail)})
    names = sorted(hours, key=lambda lang: -hours[lang])
    extra = [f"x{i:02d}" for i in range(max(0, languages - len(names)))]
    hours.update({lang: 1.0 for lang in extra})
    return {lang: hours[lang] for lang in (names + extra)[:languages]}


def utterance_counts(hours: Dict[str, float], utterances: int) -> Dict[str, int]:
    total = sum(hours.values())
    return {lang: max(1, int(round(utterances * h / total))) for lang, h in hours.items()}


def part_hours(languages: int, seed: int, corpora: bool) -> Dict[str, float]:
    """`<corpus>/<lang>` (or `<lang>`) -> hours."""
    hours = language_hours(languages, seed)
    if not corpora:
        return hours
    return {f"{corpus}/{lang}": h * share for lang, h in hours.items()
            for corpus, share in corpus_shares(lang, h).items()}


def write_corpus(data: Path, utterances: int, languages: int, seed: int = 0,
                 corpora: bool = False) -> Tuple[List[str], Dict[str, float]]:
    """Writes the manifests once (kept between runs); returns the parts (languages, or
    `<corpus>/<lang>`) and their actual hours."""
    spec = {"utterances": utterances, "languages": languages, "seed": seed, "version": 1, "corpora": corpora}
    done = data / "corpus.json"
    if done.exists() and json.loads(done.read_text())["spec"] == spec:
        described = json.loads(done.read_text())
        return described["langs"], described["hours"]
    counts = utterance_counts(part_hours(languages, seed, corpora), utterances)
    rng = np.random.default_rng(seed + 1)
    actual = {}
    for lang, n in counts.items():
        folder = data / lang
        folder.mkdir(parents=True, exist_ok=True)
        frames = rng.integers(int(MIN_SECONDS * SAMPLE_RATE), int(MAX_SECONDS * SAMPLE_RATE), n)
        actual[lang] = float(frames.sum()) / SAMPLE_RATE / 3600
        rows = "".join(f"audio/{i:09d}.flac\t{f}\n" for i, f in enumerate(frames.tolist()))
        tmp = folder / "train.tsv.tmp"
        tmp.write_text(f"{folder.resolve()}\n{rows}")
        os.replace(tmp, folder / "train.tsv")
    langs = list(counts)
    done.write_text(json.dumps({"spec": spec, "langs": langs, "hours": actual}))
    return langs, actual
