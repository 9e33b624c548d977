"""manifests/babel.py on tiny BABEL packs of 8 kHz u-law Sphere calls, with the quirks of real
packs: full-band WAV recordings, a Limited LP list, shorten-compressed Sphere."""
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from _manifest_checks import check_dicts, check_skipped, check_split, read_dict, read_tsv
from xlsr_plugin.preparation.labels import UNKNOWN_SPEECH
from xlsr_plugin.preparation.pipeline import Options
from xlsr_plugin.preparation.babel import clean_text, main, prepare_babel, read_segments, speaker_of
from xlsr_plugin.synthetic import make_babel_pack

SEGMENTS = 3  # spoken segments per recording


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    root = tmp_path_factory.mktemp("babel") / "IARPA_BABEL_OP3_404"
    summary = make_babel_pack(root, "ka", recordings={"training": 3, "dev": 1},
                              segments_per_recording=SEGMENTS, broken=True, wav_recordings=1,
                              sub_train=1)
    dest = tmp_path_factory.mktemp("data")
    report = prepare_babel(root, "ka", Options(dest=dest, workers=2, phonemes=True,
                                               fewshot_hours=[5 / 3600]), valid_fraction=0.34)
    return root, summary, dest, report


def segments_of(folder):
    """uid -> (seconds, cleaned text) of every segment of a split folder."""
    out = {}
    for txt in sorted((folder / "transcription").glob("BABEL_OP3_404_*.txt")):
        for start, end, raw, _ in read_segments(txt):
            out[f"{txt.stem}_{round(start * 100):07d}"] = (end - start, clean_text(raw))
    return out


def stems(rows):
    return {Path(p).stem.rsplit("_", 1)[0] for p, _ in rows}


def test_clean_text_keeps_unknown_speech_and_drops_noise():
    assert clean_text("<breath> გამარჯობა (()) <hes> მეგობარო <no-speech>") == \
        f"გამარჯობა {UNKNOWN_SPEECH} მეგობარო"  # two unknown tokens in a row: one unit
    assert clean_text("<foreign> <overlap> კი <prompt>") == \
        f"{UNKNOWN_SPEECH} კი {UNKNOWN_SPEECH}"
    assert clean_text("(())") == UNKNOWN_SPEECH  # unintelligible speech is still speech
    assert clean_text("<no-speech>") == clean_text("<lipsmack> <click> <breath>") == ""


def test_segments_and_skips(prepared):
    root, summary, _, report = prepared
    train, valid = report.stats[("ka", "train")], report.stats[("ka", "valid")]
    # one of three training speakers held out as valid
    assert (train.kept, valid.kept) == (2 * SEGMENTS, SEGMENTS)
    assert train.kept + valid.kept == summary["training"]
    # per recording: one silence per spoken segment and a noise-only tail
    assert dict(train.skipped) == {"missing": 1, "no_speech": 3 * (SEGMENTS + 1)}
    # each segment named with the transcription line of its start time
    rows = check_skipped(prepared[2] / "ka", report, "ka",
                         lambda row: f"[{float(row['detail'].split()[1].split('-')[0]):.3f}]")
    assert all(Path(r["source"].rpartition(":")[0]).stem == Path(r["path"]).stem for r in rows)
    assert report.stats[("ka", "test")].kept == summary["dev"] == SEGMENTS


def test_valid_is_held_out_training_speakers_and_test_is_dev(prepared):
    root, _, dest, _ = prepared
    train, _ = check_split(dest / "ka", "train")
    valid, _ = check_split(dest / "ka", "valid")
    test, _ = check_split(dest / "ka", "test")
    speakers = {split: {speaker_of(s) for s in stems(rows)}
                for split, rows in (("train", train), ("valid", valid), ("test", test))}
    assert len(speakers["valid"]) == 1 and not speakers["valid"] & speakers["train"]
    assert stems(test) == {p.stem for p in (root / "conversational/dev/transcription").iterdir()}
    sub_train = {p.stem for p in (root / "conversational/sub-train/transcription").iterdir()}
    assert sub_train <= stems(train)  # the Limited LP recordings are never held out


def test_limited_lp_list_is_train_10h(prepared):
    root, _, dest, _ = prepared
    rows, _ = check_split(dest / "ka", "train_10h")
    sub_train = {p.stem for p in (root / "conversational/sub-train/transcription").iterdir()}
    assert stems(rows) == sub_train and len(rows) == SEGMENTS
    drawn, _ = check_split(dest / "ka", "train_5s")  # other sizes drawn, inside the official
    assert {p for p, _ in drawn} < {p for p, _ in rows}


def test_utterances_are_the_segments_with_unknown_speech(prepared):
    root, _, dest, _ = prepared
    segments = segments_of(root / "conversational" / "training")
    unknown, in_train = 0, 0
    for split in ("train", "valid"):
        rows, labels = check_split(dest / "ka", split)
        for (path, frames), words, ltr, phn in zip(rows, labels["wrd"], labels["ltr"],
                                                   labels["phn"]):
            seconds, text = segments[Path(path).stem]
            assert abs(frames - seconds * 16000) <= 2
            assert words == text
            n = words.split().count(UNKNOWN_SPEECH)
            assert ltr.split().count(UNKNOWN_SPEECH) == phn.split().count(UNKNOWN_SPEECH) == n
            assert "<" not in words.replace(UNKNOWN_SPEECH, "")
            unknown += n
            in_train += n if split == "train" else 0
    assert unknown == 2 * 3  # segments 1 and 2 of each training recording: `<hes>`, `(())`
    # the dictionary counts train alone (two of the three recordings; valid holds the third)
    assert read_dict(dest / "ka" / "dict.ltr.txt")[UNKNOWN_SPEECH] == in_train == 2 * 2
    check_dicts(dest, ["ka"])


def high_band_share(audio, rate, cutoff=4100):
    spectrum = np.abs(np.fft.rfft(audio)) ** 2
    freqs = np.fft.rfftfreq(len(audio), 1 / rate)
    return spectrum[freqs > cutoff].sum() / spectrum.sum()


def test_wav_recordings_get_the_telephone_band(prepared):
    root, _, dest, _ = prepared
    wav = next((root / "conversational" / "training" / "audio").glob("*.wav"))
    rows = [(p, n) for split in ("train", "valid")
            for p, n in read_tsv(dest / "ka" / f"{split}.tsv")[1]
            if Path(p).stem.startswith(wav.stem)]
    assert len(rows) == SEGMENTS
    source, rate = sf.read(wav, dtype="float32")
    assert rate == 48000 and high_band_share(source, rate) > 0.01  # full band in the source
    for path, _ in rows:
        audio, rate = sf.read(path, dtype="float32")
        assert rate == 16000 and high_band_share(audio, rate) < 1e-6  # 8 kHz telephone band


def test_shorten_sphere_is_refused_with_how_to_convert(tmp_path, capsys):
    root = tmp_path / "IARPA_BABEL_OP3_404"
    make_babel_pack(root, "ka", recordings={"training": 1, "dev": 1},
                    segments_per_recording=1, shorten=True)
    with pytest.raises(SystemExit) as err:
        main(["--root", str(root), "--lang", "ka", "--dest", str(tmp_path / "data"),
              "--workers", "1"])
    assert err.value.code == 2
    message = capsys.readouterr().err
    assert "2 NIST Sphere files are shorten-compressed" in message
    assert "sph2pipe" in message and "BABEL_OP3_404_10000_" in message
    assert not list((tmp_path / "data").rglob("*.tsv"))


def test_wrong_language(prepared, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--root", str(prepared[0]), "--lang", "sw", "--dest", str(tmp_path)])
    assert "language ka, not sw" in capsys.readouterr().err
