"""Mozilla Common Voice -> DATA/<lang>/ (DESIGN.md layout).

A release folder (``cv-corpus-<version>/``) holds one folder per locale: ``clips/*.mp3`` (48 kHz,
some early clips 32 kHz) and the tables ``validated.tsv``, ``train.tsv``, ``dev.tsv``,
``test.tsv``, ``invalidated.tsv``, ``other.tsv``. Tables are tab-separated with a header; recent
releases have ``client_id path sentence_id sentence sentence_domain up_votes down_votes age
gender accents variant locale segment``, early ones ``client_id path sentence up_votes
down_votes age gender accent``: columns are found by name. ``train``/``dev``/``test`` share no
speaker and become ``train``/``valid``/``test``; ``--use-validated`` trains on every validated
clip not in dev or test instead (XLSR's pretraining data). Labels default to phonemes too, as
the paper's Common Voice experiments report phoneme error rates.

    python manifests/commonvoice.py --root cv-corpus-5.1-2020-06-22 --langs fi,hu --dest DATA
"""
import argparse
import csv
import logging
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from manifests._common import Item, Report  # noqa: E402
from manifests._pipeline import (Options, add_common_args, finish, options_from_args,  # noqa: E402
                                 prepare_language, run_cli)
from manifests.languages import lang_code  # noqa: E402

logger = logging.getLogger(__name__)

SPLITS = {"train": "train", "valid": "dev", "test": "test"}


def find_locales(root: Path) -> Dict[str, Path]:
    """Language code -> locale folder, for every folder of ``root`` holding ``validated.tsv``
    (or ``root`` itself when it is one locale's folder)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"no Common Voice release at {root}")
    folders = [root] if (root / "validated.tsv").exists() else sorted(
        p for p in root.iterdir() if (p / "validated.tsv").exists())
    return {lang_code(p.name): p for p in folders}


def select(available: Dict[str, Path], requested: Optional[Sequence[str]], corpus: str):
    """The requested languages (codes or release names); an error lists what the release has."""
    if not requested:
        return dict(sorted(available.items()))
    by_name = {**{p.name: code for code, p in available.items()}, **{c: c for c in available}}
    missing = [r for r in requested if r not in by_name]
    if missing:
        have = ", ".join(f"{c} ({p.name})" if p.name != c else c
                         for c, p in sorted(available.items()))
        raise ValueError(f"{corpus} release has no {', '.join(missing)}; it has: {have or 'none'}")
    return {by_name[r]: available[by_name[r]] for r in sorted(set(requested))}


def read_table(path: Path) -> List[dict]:
    """Rows of a Common Voice TSV as dicts; [] (with a warning) when the table is absent."""
    if not path.exists():
        logger.warning("%s is missing", path)
        return []
    csv.field_size_limit(sys.maxsize)
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def _item(folder: Path, row: dict) -> Item:
    name = row.get("path") or ""
    if name and not Path(name).suffix:  # the first releases listed clips without extension
        name += ".mp3"
    return Item(uid=Path(name).stem, src=str(folder / "clips" / name),
                text=row.get("sentence") or "", speaker=row.get("client_id") or "")


def locale_splits(folder: Path, use_validated: bool) -> Dict[str, List[Item]]:
    tables = {split: read_table(folder / f"{name}.tsv") for split, name in SPLITS.items()}
    if use_validated:
        held_out = {r.get("path") for split in ("valid", "test") for r in tables[split]}
        tables["train"] = [r for r in read_table(folder / "validated.tsv")
                           if r.get("path") not in held_out]
    return {split: [_item(folder, r) for r in rows if r.get("path")]
            for split, rows in tables.items()}


def prepare_commonvoice(root, langs: Optional[Sequence[str]], opts: Options,
                        use_validated: bool = False) -> Report:
    """Write ``opts.dest/<lang>/`` for each requested locale of the release at ``root``."""
    report = Report()
    for lang, folder in select(find_locales(root), langs, "Common Voice").items():
        prepare_language(lang, locale_splits(folder, use_validated), opts, report)
    finish(opts.dest)
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", required=True, type=Path, help="Common Voice release folder")
    parser.add_argument("--langs", default="", help="comma-separated codes or locales "
                        "(fi,sv-SE or sv); default: all")
    parser.add_argument("--use-validated", action="store_true",
                        help="train on all validated clips not in dev/test")
    add_common_args(parser, phonemes=True)
    args = parser.parse_args(argv)
    langs = [s.strip() for s in args.langs.split(",") if s.strip()]
    return run_cli(parser, lambda a: prepare_commonvoice(
        a.root, langs, options_from_args(a), a.use_validated), args)


if __name__ == "__main__":
    sys.exit(main())
