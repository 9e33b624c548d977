"""DATA/<lang>/skipped.tsv names every utterance a preparation script leaves out: its path, the
reason, the release line that lists it, and what was wrong, in words. (About 6 s: one small
Common Voice release, one CLI run in a fresh process.)"""
import csv
import subprocess
import sys
from pathlib import Path

import pytest

from _manifest_checks import REPO
from xlsr_plugin.synthetic import make_commonvoice_release


def add_truncated_clip(locale_dir: Path) -> None:
    """A train row whose MP3 is cut in half: its header still announces the whole clip."""
    train = locale_dir / "train.tsv"
    lines = train.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    row = lines[1].split("\t")
    source = locale_dir / "clips" / row[header.index("path")]
    data = source.read_bytes()
    (locale_dir / "clips" / "truncated.mp3").write_bytes(data[:len(data) // 2])
    row[header.index("path")] = "truncated.mp3"
    train.write_text("\n".join(lines + ["\t".join(row)]) + "\n", encoding="utf-8")


def add_duplicate_row(locale_dir: Path) -> str:
    """train.tsv lists its first clip again, last: the second listing is skipped."""
    train = locale_dir / "train.tsv"
    lines = train.read_text(encoding="utf-8").splitlines()
    train.write_text("\n".join(lines + [lines[1]]) + "\n", encoding="utf-8")
    return lines[1].split("\t")[lines[0].split("\t").index("path")]


def table_lines(table: Path) -> dict:
    """clip name -> its line number in a Common Voice table (line 1 the header)."""
    with open(table, encoding="utf-8", newline="") as f:
        rows = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        return {row["path"]: number for number, row in enumerate(rows, start=2)}  # last wins


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    root = tmp_path_factory.mktemp("cv") / "cv-corpus"
    make_commonvoice_release(root, {"fi": 6}, seed=0, broken=True)
    add_truncated_clip(root / "fi")
    duplicate = add_duplicate_row(root / "fi")
    dest = tmp_path_factory.mktemp("data")
    command = [sys.executable, str(REPO / "manifests" / "commonvoice.py"), "--root", str(root),
               "--dest", str(dest), "--workers", "1", "--no-phonemes", "--fewshot-hours", ""]
    run = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 0, run.stderr
    return root, dest, run.stdout, duplicate


def test_skipped_file_names_each_bad_clip_with_its_reason_and_line(prepared):
    root, dest, _, duplicate = prepared
    with open(dest / "fi" / "skipped.tsv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    lines = table_lines(root / "fi" / "train.tsv")
    table = root / "fi" / "train.tsv"
    expected = {"missing.mp3": "missing", "not_audio.mp3": "unreadable",
                "truncated.mp3": "truncated", "too_short.mp3": "too_short",
                "empty_text.mp3": "empty_text", duplicate: "duplicate"}
    assert sorted((Path(r["path"]).name, r["reason"], r["source"], r["split"]) for r in rows) == \
        sorted((name, reason, f"{table}:{lines[name]}", "train")
               for name, reason in expected.items())
    assert all(Path(r["path"]) == root / "fi" / "clips" / Path(r["path"]).name for r in rows)
    detail = {Path(r["path"]).name: r["detail"] for r in rows}
    assert detail["missing.mp3"] == "no such file"
    assert "recognises no audio format" in detail["not_audio.mp3"]
    assert "does not exist" not in detail["not_audio.mp3"]  # libsndfile's words for it
    assert "frames its header announces" in detail["truncated.mp3"]
    assert detail["too_short.mp3"] == "0.20 s, shorter than --min-seconds 0.5"
    assert detail[duplicate] == f"utterance {Path(duplicate).stem} is listed again (first kept)"


def test_summary_says_where_the_skipped_files_are(prepared):
    _, dest, printed, _ = prepared
    assert f"fi: 6 skipped, named with reason and source line in {dest / 'fi' / 'skipped.tsv'}" \
        in printed
    header = printed.splitlines()[0].split()
    for reason in ("missing", "unreadable", "truncated", "too_short", "empty_text", "duplicate"):
        assert reason in header
