"""manifests/commonvoice.py on a tiny Common Voice release of MP3 clips at 48 kHz."""
import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from _manifest_checks import REPO, check_dicts, check_fewshot, check_split, read_tsv
from xlsr_plugin.preparation.labels import normalize_words
from xlsr_plugin.preparation.commonvoice import find_locales, main, prepare_commonvoice
from xlsr_plugin.preparation.pipeline import Options
from xlsr_plugin.synthetic import make_commonvoice_release

HOURS = {"train_5s": 5 / 3600, "train_10s": 10 / 3600}


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    root = tmp_path_factory.mktemp("cv") / "cv-corpus"
    summary = make_commonvoice_release(root, {"fi": 10}, seed=0, broken=True, overlap=True)
    summary.update(make_commonvoice_release(root, {"sv-SE": 6}, seed=1, sample_rate=32000,
                                            old_header=True))
    return root, summary


@pytest.fixture(scope="module")
def prepared(release, tmp_path_factory):
    dest = tmp_path_factory.mktemp("data")
    opts = Options(dest=dest, workers=2, fewshot_hours=list(HOURS.values()))
    report = prepare_commonvoice(release[0], None, opts)
    return dest, report


def sentences(locale_dir):
    with open(locale_dir / "validated.tsv", encoding="utf-8", newline="") as f:
        rows = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        return {Path(r["path"]).stem: r["sentence"] for r in rows}


def test_counts_and_skip_report(release, prepared):
    _, summary = release
    _, report = prepared
    fi = report.stats
    assert fi[("fi", "train")].kept == summary["fi"]["train"] + 1  # + the stereo clip
    assert dict(fi[("fi", "train")].skipped) == {
        "missing": 1, "unreadable": 1, "too_short": 1, "empty_text": 1}
    assert fi[("fi", "valid")].kept == summary["fi"]["dev"]
    assert fi[("fi", "test")].kept == summary["fi"]["test"]
    assert fi[("sv", "train")].kept == summary["sv-SE"]["train"]
    table = report.format()
    assert "missing" in table and "sv" in table.split("\n")[-1]


@pytest.mark.parametrize("lang,locale", [("fi", "fi"), ("sv", "sv-SE")])
def test_manifests_line_by_line(release, prepared, lang, locale):
    root, _ = release
    dest, _ = prepared
    expected = sentences(root / locale)
    for split in ("train", "valid", "test"):
        rows, labels = check_split(dest / lang, split)
        uids = [Path(p).stem for p, _ in rows]
        assert uids == sorted(uids)
        assert labels["wrd"] == [normalize_words(expected[u], lang) for u in uids]
        assert all(Path(p).parent == dest.resolve() / lang / "audio" for p, _ in rows)
    check_dicts(dest, ["fi", "sv"])


def test_fewshot_nested(prepared):
    dest, _ = prepared
    _, train = read_tsv(dest / "fi" / "train.tsv")
    check_fewshot(dest / "fi", HOURS, train)


def test_use_validated(release, tmp_path):
    root, summary = release
    opts = Options(dest=tmp_path, workers=1, phonemes=False, fewshot_hours=[])
    report = prepare_commonvoice(root, ["fi"], opts, use_validated=True)
    fi = summary["fi"]
    train = report.stats[("fi", "train")]
    assert train.kept == fi["train"] + fi["validated_only"] + 1
    assert train.skipped["shares_dev_test"] == fi["overlapping"] == 4
    assert "shares_dev_test" in report.format()
    assert not (tmp_path / "sv").exists() and not (tmp_path / "fi" / "train.phn").exists()
    # No sentence and no speaker of dev or test in train (CorporaCreator's guarantee).
    rows = validated_rows(root / "fi")
    words = {split: {normalize_words(rows[u]["sentence"], "fi") for u in uids(tmp_path, split)}
             for split in ("train", "valid", "test")}
    speakers = {split: {rows[u]["client_id"] for u in uids(tmp_path, split)}
                for split in ("train", "valid", "test")}
    for held in ("valid", "test"):
        assert words[held] and not words["train"] & words[held]
        assert speakers[held] and not speakers["train"] & speakers[held]


def validated_rows(locale_dir):
    with open(locale_dir / "validated.tsv", encoding="utf-8", newline="") as f:
        return {Path(r["path"]).stem: r for r in
                csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)}


def uids(dest, split, lang="fi"):
    return [Path(p).stem for p, _ in read_tsv(dest / lang / f"{split}.tsv")[1]]


def test_delta_release_is_refused(tmp_path, capsys):
    root = tmp_path / "cv-corpus-12.0-delta-2022-12-07"
    make_commonvoice_release(root, {"fi": 3}, delta=True)
    with pytest.raises(SystemExit) as err:
        main(["--root", str(root), "--dest", str(tmp_path / "data"), "--workers", "1"])
    assert err.value.code == 2
    message = capsys.readouterr().err
    assert f"{root / 'fi'} has no train.tsv, dev.tsv, test.tsv" in message
    assert "delta release" in message
    assert not (tmp_path / "data").exists()


def test_cantonese_twice_is_refused_unless_one_is_named(tmp_path, capsys):
    root = tmp_path / "cv-corpus-9.0-2022-04-27"
    make_commonvoice_release(root, {"zh-HK": 3, "yue": 3})
    with pytest.raises(SystemExit):
        main(["--root", str(root), "--dest", str(tmp_path / "data"), "--workers", "1"])
    message = capsys.readouterr().err
    assert f"{root / 'yue'} and {root / 'zh-HK'} would both become language 'yue'" in message
    assert "(yue or zh-HK)" in message
    dest = tmp_path / "data"
    report = prepare_commonvoice(root, ["zh-HK"], Options(dest=dest, workers=1, phonemes=False,
                                                          fewshot_hours=[]))
    assert report.stats[("yue", "train")].kept == 1
    assert (dest / "yue" / "source.txt").read_text().strip() == \
        "Common Voice cv-corpus-9.0-2022-04-27/zh-HK"
    assert all("common_voice_zh-HK_" in u for u in uids(dest, "test", "yue"))


def test_early_release_folders_give_the_locale(tmp_path):
    root = tmp_path / "cv_corpus_v1"
    make_commonvoice_release(root, {"sv-SE": 3}, early=True)
    assert find_locales(root) == {"sv": root / "cv-corpus-1_sv-SE"}
    odd = root / "my_recordings"
    odd.mkdir()
    (odd / "validated.tsv").write_text("client_id\tpath\tsentence\n")
    with pytest.raises(ValueError, match=f"{odd}: cannot tell the locale"):
        find_locales(root)


def test_resume_after_interruption(release, prepared, tmp_path):
    root, _ = release
    dest, _ = prepared
    first = {p.name: p.read_bytes() for p in (dest / "fi").iterdir() if p.is_file()}
    # An interrupted run: some clips converted, a half-written file, no manifests yet.
    data = tmp_path / "data"
    (data / "fi" / "audio").mkdir(parents=True)
    clips = sorted((dest / "fi" / "audio").iterdir())
    for clip in clips[:4]:
        (data / "fi" / "audio" / clip.name).write_bytes(clip.read_bytes())
    os.utime(data / "fi" / "audio" / clips[0].name, (1, 1))
    (data / "fi" / "audio" / f"{clips[5].name}.123.part").write_bytes(b"partial")
    opts = Options(dest=data, workers=2, fewshot_hours=list(HOURS.values()))
    prepare_commonvoice(root, ["fi"], opts)
    assert os.stat(data / "fi" / "audio" / clips[0].name).st_mtime == 1  # not redone
    assert not list((data / "fi").rglob("*.part"))
    for name, content in first.items():
        lines = (data / "fi" / name).read_bytes().split(b"\n")
        skip = 1 if name.endswith(".tsv") else 0  # a manifest names its own root first
        assert lines[skip:] == content.split(b"\n")[skip:], name


def test_unknown_language_lists_the_release(release, tmp_path, capsys):
    with pytest.raises(SystemExit) as err:
        main(["--root", str(release[0]), "--langs", "de", "--dest", str(tmp_path)])
    assert err.value.code == 2
    assert "has no de; it has: fi, sv (sv-SE)" in capsys.readouterr().err


def test_script_runs_from_repo_root_and_fails_on_nothing_usable(tmp_path):
    empty = tmp_path / "cv" / "fi"
    empty.mkdir(parents=True)
    for table in ("validated", "train", "dev", "test"):
        (empty / f"{table}.tsv").write_text("client_id\tpath\tsentence\n")
    proc = subprocess.run([sys.executable, "manifests/commonvoice.py", "--root",
                           str(tmp_path / "cv"), "--dest", str(tmp_path / "data"),
                           "--workers", "1"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    assert "nothing usable" in proc.stderr
