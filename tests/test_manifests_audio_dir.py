"""manifests/audio_dir.py on a folder of mixed formats, rates and channel counts."""
import subprocess
import sys
from pathlib import Path

import pytest

from _manifest_checks import REPO, read_tsv
from xlsr_plugin.preparation.pipeline import Options
from xlsr_plugin.preparation.audio_dir import prepare_audio_dir
from xlsr_plugin.synthetic import make_audio_dir


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("audio")
    return root, make_audio_dir(root, "fi", n_files=6, broken=True)


def test_every_format_converted_or_in_place(folder, tmp_path):
    root, summary = folder
    report = prepare_audio_dir(root, "fi", Options(dest=tmp_path, workers=2),
                               valid_percent=0.34)
    rows = []
    for split in ("train", "valid"):
        rows += read_tsv(tmp_path / "fi" / f"{split}.tsv")[1]
    assert len(rows) == summary["good"]
    assert report.stats[("fi", "valid")].kept == 2
    assert dict(report.stats[("fi", "train")].skipped) == {"unreadable": 1, "too_short": 1}
    import soundfile as sf
    for path, frames in rows:
        info = sf.info(path)
        assert (info.samplerate, info.channels, info.frames) == (16000, 1, frames)
    in_place = sorted(Path(p).name for p, _ in rows if Path(p).is_relative_to(root))
    assert in_place == ["utt0000.wav", "utt0003.opus"]  # the 16 kHz mono sources


def test_valid_split_is_seeded(folder, tmp_path):
    root, _ = folder
    picks = []
    for run in ("a", "b"):
        prepare_audio_dir(root, "fi", Options(dest=tmp_path / run, workers=1), 0.34)
        picks.append([Path(p).name for p, _ in read_tsv(tmp_path / run / "fi" / "valid.tsv")[1]])
    assert picks[0] == picks[1]


def test_cli_nothing_usable(tmp_path):
    (tmp_path / "empty").mkdir()
    proc = subprocess.run([sys.executable, "manifests/audio_dir.py", "--root",
                           str(tmp_path / "empty"), "--lang", "fi", "--dest",
                           str(tmp_path / "data")], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 1 and "nothing usable" in proc.stderr
