"""An IARPA BABEL language pack -> DATA/<lang>/ (layout: README, "Data layout").

A pack (e.g. ``IARPA_BABEL_OP3_404``) holds ``conversational/{training,dev[,eval]}/audio/*.sph``
(8 kHz u-law NIST Sphere, one side of a telephone call each, named
``BABEL_<phase>_<pack>_<speaker>_<date>_<time>_<inLine|outLine>``) and ``transcription/*.txt``:
``[seconds]`` lines, each followed by the text spoken until the next one. Every transcribed
segment becomes one 16 kHz utterance file. training becomes train; dev, on which BABEL results
are reported (eval transcripts were not released), becomes both valid and test; a transcribed
eval replaces it as test.

Tokens, as in the Kaldi/ESPnet BABEL recipes (``local/prepare_acoustic_training_data.pl``, whose
token classes lhotse's ``recipes/babel.py`` also uses): ``(())``, ``<foreign>``, ``<prompt>``,
``<overlap>``, ``<hes>`` (unintelligible, foreign, hesitation), ``<breath>``, ``<cough>``,
``<lipsmack>``, ``<laugh>`` (speaker noise), ``<click>``, ``<ring>``, ``<dtmf>``, ``<int>``,
``<sta>`` (noise), ``<no-speech>`` (silence) and the ``<male-to-female>`` markers. Those recipes
map them to <unk>/<v-noise>/<noise>/<silence> and drop segments holding nothing else; with
character and phoneme CTC targets we remove every ``<...>`` and ``(())`` token from the text and
drop the segments left empty (reported as ``no_speech``).

    python manifests/babel.py --root BABEL_PACK_DIR --lang ka --dest DATA
"""
import argparse
import logging
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Dict, List, Tuple

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from manifests._common import Item, Report  # noqa: E402
from manifests._pipeline import (Options, add_common_args, finish, options_from_args,  # noqa: E402
                                 prepare_language, run_cli)

logger = logging.getLogger(__name__)

# BABEL pack numbers (lhotse's BABELCODE2LANG) as ISO 639-1 codes, else 639-3.
PACKS = {"101": "yue", "102": "as", "103": "bn", "104": "ps", "105": "tr", "106": "tl",
         "107": "vi", "201": "ht", "202": "sw", "203": "lo", "204": "ta", "205": "kmr",
         "206": "zu", "207": "tpi", "301": "ceb", "302": "kk", "303": "te", "304": "lt",
         "305": "gn", "306": "ig", "307": "am", "401": "mn", "402": "jv", "403": "luo",
         "404": "ka"}
NON_SPEECH = re.compile(r"<[^<>\s]*>|\(\(\)\)")
_TIME = re.compile(r"^\[(\d+(?:\.\d*)?)\]$")


def find_conversational(root: Path) -> Path:
    """The pack's ``conversational`` folder, found at any depth (the first one, sorted)."""
    found = sorted(p for p in Path(root).rglob("conversational") if p.is_dir())
    if not found:
        raise FileNotFoundError(f"no 'conversational' folder below {root}")
    if len(found) > 1:
        logger.warning("several 'conversational' folders below %s: using %s", root, found[0])
    return found[0]


def clean_text(text: str) -> str:
    """The segment's words without BABEL's non-speech, noise and unintelligible tokens."""
    return " ".join(NON_SPEECH.sub(" ", text).split())


def read_segments(path: Path) -> List[Tuple[float, float, str]]:
    """(start, end, raw text) of each segment of one transcription file."""
    segments, start, text = [], None, []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        match = _TIME.match(line.strip())
        if not match:
            text.append(line.strip())
            continue
        time = float(match.group(1))
        if start is not None and text and time > start:
            segments.append((start, time, " ".join(text)))
        start, text = time, []
    return segments


def split_items(folder: Path, stats) -> List[Item]:
    """Items of one split (``conversational/<split>``); drops and counts non-speech segments."""
    items = []
    for txt in sorted((folder / "transcription").glob("*.txt")):
        audio = next((p for p in (folder / "audio" / f"{txt.stem}{e}" for e in (".sph", ".wav"))
                      if p.exists()), folder / "audio" / f"{txt.stem}.sph")
        fields = txt.stem.split("_")
        speaker = "_".join(fields[2:4] + fields[6:7])
        for start, end, raw in read_segments(txt):
            text = clean_text(raw)
            if not text:
                stats.skipped["no_speech"] += 1
                continue
            items.append(Item(uid=f"{txt.stem}_{round(start * 100):07d}", src=str(audio),
                              text=text, speaker=speaker, start=start, end=end))
    return items


def pack_language(conv: Path) -> str:
    """The language of the pack, from the pack number in its file names."""
    numbers = Counter(p.stem.split("_")[2] for p in conv.glob("*/transcription/*.txt")
                      if len(p.stem.split("_")) > 2)
    if not numbers:
        raise FileNotFoundError(f"no transcription files below {conv}")
    number = numbers.most_common(1)[0][0]
    return PACKS.get(number, number)


def prepare_babel(root, lang: str, opts: Options) -> Report:
    """Write ``opts.dest/<lang>/`` from the BABEL pack at ``root``."""
    conv = find_conversational(root)
    found = pack_language(conv)
    if lang != found:
        raise ValueError(f"the pack at {root} is language {found}, not {lang}; it has: {found}")
    report = Report()
    names = {"train": "training", "valid": "dev", "test": "dev"}
    if list((conv / "eval" / "transcription").glob("*.txt")):
        names["test"] = "eval"
    splits: Dict[str, List[Item]] = {}
    for split, name in names.items():
        splits[split] = split_items(conv / name, report.split(lang, split))
    prepare_language(lang, splits, opts, report)
    finish(opts.dest)
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", required=True, type=Path, help="BABEL language pack folder")
    parser.add_argument("--lang", required=True, help="language code of the pack (e.g. ka)")
    add_common_args(parser, phonemes=False)
    args = parser.parse_args(argv)
    return run_cli(parser, lambda a: prepare_babel(a.root, a.lang, options_from_args(a)), args)


if __name__ == "__main__":
    sys.exit(main())
