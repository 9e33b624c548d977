"""Any folder of one language's audio -> DATA/<lang>/train.tsv and valid.tsv, unlabeled.

Every wav, flac, mp3, ogg/opus and sph file below ``--root`` (any depth, sorted) becomes one
utterance for pretraining; a seeded ``--valid-percent`` of them is held out as ``valid``. The
replacement for fairseq's ``examples/wav2vec/wav2vec_manifest.py``, converting what is not 16 kHz
mono and drawing the held-out set from a sorted list, so a seed gives the same split everywhere.

    python manifests/audio_dir.py --root DIR --lang xx --dest DATA
    python -m xlsr_plugin.preparation.audio_dir ...   # the same tool (the script calls main)
"""
import argparse
import random
import sys
from pathlib import Path
from typing import List

from xlsr_plugin.preparation.conversion import Item, Report
from xlsr_plugin.preparation.pipeline import (Options, add_common_args, convert_splits,
                                              options_from_args, run_cli, write_split)
from xlsr_plugin.preparation.provenance import claim_languages, remove_stale

EXTENSIONS = (".wav", ".flac", ".mp3", ".ogg", ".opus", ".sph")


def list_audio(root: Path, exclude: Path) -> List[Item]:
    """Audio files below ``root`` (not below ``exclude``, our own output), sorted."""
    root, exclude = Path(root).resolve(), Path(exclude).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"no folder {root}")
    items = []
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() in EXTENSIONS and path.is_file() and exclude not in path.parents:
            rel = path.relative_to(root).as_posix()
            items.append(Item(uid=rel, src=str(path), speaker=path.parent.name))
    return items


def prepare_audio_dir(root, lang: str, opts: Options, valid_percent: float = 0.01) -> Report:
    """Write ``opts.dest/<lang>/{train,valid}.tsv`` for the audio below ``root``."""
    if not lang or "_" in lang:
        raise ValueError(f"--lang must be a language code without underscore, got {lang!r}")
    report = Report()
    lang_dir = Path(opts.dest) / lang
    claim_languages(opts.dest, {lang: f"audio folder {Path(root).resolve()}"})
    rows = convert_splits(lang, {"train": list_audio(root, lang_dir)}, opts, report,
                          labeled=False)["train"]
    order = list(range(len(rows)))
    random.Random(opts.seed).shuffle(order)
    n_valid = min(len(rows) - 1, max(1, round(valid_percent * len(rows)))) if (
        valid_percent > 0 and len(rows) > 1) else 0
    held = set(order[:n_valid])
    splits = {"train": [r for i, r in enumerate(rows) if i not in held],
              "valid": [r for i, r in enumerate(rows) if i in held]}
    remove_stale(lang_dir)
    for split, split_rows in splits.items():
        write_split(lang_dir, split, split_rows, report.split(lang, split), labeled=False)
    report.write_skipped(lang, lang_dir)
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", required=True, type=Path, help="folder of audio files")
    parser.add_argument("--lang", required=True, help="language code of the audio (e.g. fi)")
    parser.add_argument("--valid-percent", type=float, default=0.01,
                        help="fraction of files held out as valid (0 to 1, as in fairseq)")
    add_common_args(parser, labeled=False)
    args = parser.parse_args(argv)
    return run_cli(parser, lambda a: prepare_audio_dir(
        a.root, a.lang, options_from_args(a), a.valid_percent), args)


if __name__ == "__main__":
    sys.exit(main())
