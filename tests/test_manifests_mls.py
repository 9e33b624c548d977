"""manifests/mls.py on tiny MLS releases (Opus and FLAC) with official limited supervision."""
from pathlib import Path

import pytest

from _manifest_checks import check_dicts, check_fewshot, check_skipped, check_split, read_tsv
from xlsr_plugin.preparation.pipeline import Options
from xlsr_plugin.preparation.mls import main, prepare_mls
from xlsr_plugin.synthetic import make_mls_release


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    root = tmp_path_factory.mktemp("mls")
    summary = make_mls_release(root, {"polish": 8}, seed=0, broken=True)
    with open(root / "mls_polish_opus" / "train" / "transcripts.txt", "a") as f:
        f.write("not-an-id\tsome words\n")  # no <speaker>_<book>_<segment>: named, skipped
    summary.update(make_mls_release(root, {"portuguese": 3}, seed=1, flavor="flac"))
    dest = tmp_path_factory.mktemp("data")
    report = prepare_mls(root, ["polish", "pt"], Options(dest=dest, workers=2, phonemes=True,
                                                         fewshot_hours=[]))
    return root, summary, dest, report


def handles(folder, *parts):
    return {line for p in sorted(folder.glob("/".join(parts))) for line in p.read_text().split()}


def test_counts_and_skips(prepared):
    _, summary, _, report = prepared
    train = report.stats[("pl", "train")]
    assert train.kept == summary["polish"]["train"]
    assert dict(train.skipped) == {"missing": 1, "unreadable": 1, "empty_text": 1, "malformed": 1}
    # each named with the transcripts.txt line of its id
    rows = check_skipped(prepared[2] / "pl", report, "pl",
                         lambda row: Path(row["path"]).stem if row["path"] != "-" else "not-an-id")
    assert [r["detail"] for r in rows if r["reason"] == "malformed"] == [
        "expected <speaker>_<book>_<segment><TAB>text, found 'not-an-id\\tsome words'"]
    assert report.stats[("pl", "valid")].kept == summary["polish"]["dev"]
    assert report.stats[("pt", "test")].kept == summary["portuguese"]["test"]


def test_in_place_audio_and_labels(prepared):
    root, _, dest, _ = prepared
    for lang, folder in (("pl", "mls_polish_opus"), ("pt", "mls_portuguese")):
        for split, name in (("train", "train"), ("valid", "dev"), ("test", "test")):
            rows, labels = check_split(dest / lang, split)
            src = root / folder / name
            assert all(Path(p).is_relative_to(src / "audio") for p, _ in rows)  # 16 kHz: in place
            text = dict(line.split("\t") for line in
                        (src / "transcripts.txt").read_text().splitlines())
            assert labels["wrd"] == [text[Path(p).stem] for p, _ in rows]
    assert not (dest / "pl" / "audio").exists()
    check_dicts(dest, ["pl", "pt"])


def test_official_limited_supervision(prepared):
    root, _, dest, _ = prepared
    limited = root / "mls_polish_opus" / "train" / "limited_supervision"
    one_hour = handles(limited, "1hr", "*", "handles.txt")
    expected = {"train_10min": handles(limited, "1hr", "0", "handles.txt"),
                "train_1h": one_hour, "train_10h": one_hour | handles(limited, "9hr", "*.txt")}
    for name, uids in expected.items():
        rows, _ = check_split(dest / "pl", name)
        assert {Path(p).stem for p, _ in rows} == uids
    assert expected["train_10min"] < expected["train_1h"] < expected["train_10h"]


def test_drawn_fewshot_when_asked(prepared, tmp_path):
    root, _, _, _ = prepared
    hours = {"train_4s": 4 / 3600, "train_8s": 8 / 3600}
    prepare_mls(root / "mls_portuguese", None, Options(dest=tmp_path, workers=1,
                                                      phonemes=False,
                                                      fewshot_hours=list(hours.values())))
    check_fewshot(tmp_path / "pt", hours, read_tsv(tmp_path / "pt" / "train.tsv")[1])


def test_unknown_language(prepared, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--root", str(prepared[0]), "--langs", "german", "--dest", str(tmp_path)])
    assert "it has: pl (mls_polish_opus), pt (mls_portuguese)" in capsys.readouterr().err
