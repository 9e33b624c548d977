"""manifests/babel.py on a tiny BABEL pack of 8 kHz u-law Sphere calls."""
from pathlib import Path

import pytest
import soundfile as sf

from _manifest_checks import check_dicts, check_split
from manifests._pipeline import Options
from manifests.babel import clean_text, main, prepare_babel, read_segments
from xlsr_plugin.synthetic import make_babel_pack


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    root = tmp_path_factory.mktemp("babel") / "IARPA_BABEL_OP3_404"
    summary = make_babel_pack(root, "ka", recordings={"training": 2, "dev": 1},
                              segments_per_recording=3, broken=True)
    dest = tmp_path_factory.mktemp("data")
    report = prepare_babel(root, "ka", Options(dest=dest, workers=2, phonemes=True,
                                               fewshot_hours=[5 / 3600]))
    return root, summary, dest, report


def test_clean_text():
    assert clean_text("<breath> გამარჯობა (()) <hes> მეგობარო <no-speech>") == \
        "გამარჯობა მეგობარო"
    assert clean_text("<no-speech>") == clean_text("<lipsmack> (())") == ""


def test_segments_and_skips(prepared):
    root, summary, _, report = prepared
    train = report.stats[("ka", "train")]
    assert train.kept == summary["training"]
    # per recording: one silence per spoken segment and a noise-only tail
    assert dict(train.skipped) == {"missing": 1, "no_speech": 2 * (3 + 1)}
    assert report.stats[("ka", "valid")].kept == report.stats[("ka", "test")].kept == 3


def test_utterances_are_the_segments(prepared):
    root, _, dest, _ = prepared
    conv = root / "conversational" / "training"
    segments = {}
    for txt in sorted((conv / "transcription").glob("BABEL_OP3_404_*.txt")):
        for start, end, raw in read_segments(txt):
            segments[f"{txt.stem}_{round(start * 100):07d}"] = (end - start, clean_text(raw))
    rows, labels = check_split(dest / "ka", "train")
    for (path, frames), words in zip(rows, labels["wrd"]):
        seconds, text = segments[Path(path).stem]
        assert abs(frames - seconds * 16000) <= 2
        assert words == text and "<" not in words
    assert sf.info(next(conv.glob("audio/*.sph"))).subtype == "ULAW"
    check_split(dest / "ka", "train_5s")
    check_dicts(dest, ["ka"])


def test_wrong_language(prepared, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--root", str(prepared[0]), "--lang", "sw", "--dest", str(tmp_path)])
    assert "language ka, not sw" in capsys.readouterr().err
