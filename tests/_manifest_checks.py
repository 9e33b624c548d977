"""Line-by-line checks of a DATA/<lang>/ folder written by manifests/ (shared by its tests)."""
import csv
import os
from collections import Counter
from pathlib import Path

import soundfile as sf

from xlsr_plugin.data.manifests import read_manifest
from xlsr_plugin.preparation.labels import letters

REPO = Path(__file__).resolve().parents[1]


def read_tsv(path):
    """(root, [(absolute path, frames)]) of a fairseq manifest."""
    root, rows = read_manifest(str(path))
    assert os.path.isabs(root), root
    return root, [(os.path.join(root, rel), frames) for rel, frames in rows]


def check_split(lang_dir, split, kinds=("wrd", "ltr", "phn")):
    """Every row 16 kHz mono with its frame count, labels aligned; returns (rows, labels)."""
    _, rows = read_tsv(Path(lang_dir) / f"{split}.tsv")
    for path, frames in rows:
        info = sf.info(path)
        assert (info.samplerate, info.channels, info.frames) == (16000, 1, frames), path
    labels = {}
    for kind in kinds:
        lines = (Path(lang_dir) / f"{split}.{kind}").read_text(encoding="utf-8").splitlines()
        assert len(lines) == len(rows), (split, kind)
        assert all(line.strip() for line in lines)
        labels[kind] = lines
    if "ltr" in labels:
        assert labels["ltr"] == [letters(w) for w in labels["wrd"]]
    return rows, labels


def check_skipped(lang_dir, report, lang, corpus_word):
    """skipped.tsv counts what the report counts, per split and reason, and each row's source
    is a line of the release file it names, holding ``corpus_word(row)``."""
    with open(Path(lang_dir) / "skipped.tsv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    named = Counter((r["split"], r["reason"]) for r in rows)
    counted = Counter({(split, reason): n for (name, split), stats in report.stats.items()
                       if name == lang for reason, n in stats.skipped.items() if n})
    assert named == counted
    for row in rows:
        table, _, line = row["source"].rpartition(":")
        text = Path(table).read_text(encoding="utf-8").splitlines()[int(line) - 1]
        assert corpus_word(row) in text, (row, text)
    return rows


def read_dict(path):
    counts = Counter()
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        symbol, n = line.rsplit(" ", 1)
        counts[symbol] = int(n)
    return counts


def label_counts(lang_dir, kind, splits=("train", "valid", "test")):
    counts = Counter()
    for split in splits:
        for line in (Path(lang_dir) / f"{split}.{kind}").read_text(encoding="utf-8").splitlines():
            counts.update(line.split())
    return counts


def check_dicts(dest, langs, kinds=("ltr", "phn")):
    """Per-language dictionaries count their training labels; the union sums them."""
    for kind in kinds:
        union = Counter()
        for lang in langs:
            own = read_dict(Path(dest) / lang / f"dict.{kind}.txt")
            assert own == label_counts(Path(dest) / lang, kind, ("train",))
            union += own
        assert read_dict(Path(dest) / f"dict.{kind}.txt") == union


def check_fewshot(lang_dir, names_hours, train_rows):
    """Few-shot sets inside train, nested, each within one utterance above its target."""
    train = dict(train_rows)
    previous = set()
    for name, hours in sorted(names_hours.items(), key=lambda kv: kv[1]):
        rows, _ = check_split(lang_dir, name, ("wrd", "ltr"))
        paths = {p for p, _ in rows}
        assert paths <= set(train) and previous <= paths
        total, goal = sum(n for _, n in rows), hours * 3600 * 16000
        if total < goal:
            assert paths == set(train)
        else:
            assert total - max(n for _, n in rows) < goal
        previous = paths
