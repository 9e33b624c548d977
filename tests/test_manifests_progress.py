"""Conversion and phonemization show a progress bar with rate and ETA on a terminal only."""
import io

import numpy as np
import soundfile as sf

from xlsr_plugin.preparation import conversion
from xlsr_plugin.preparation.conversion import ConversionJob, convert_all


class Terminal(io.StringIO):
    def isatty(self):
        return True


def jobs(tmp_path, n=3):
    out = []
    for i in range(n):
        src = tmp_path / f"in{i}.wav"
        sf.write(src, np.zeros(16000, np.float32), 22050)
        out.append(ConversionJob(str(src), str(tmp_path / f"out{i}.flac"), 100, 10 ** 6))
    return out


def test_progress_on_a_terminal(tmp_path, monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr(conversion.sys, "stderr", terminal)
    results = convert_all(jobs(tmp_path), workers=1, desc="fi: converting")
    assert [r[2] for r in results] == [None, None, None]
    shown = terminal.getvalue()
    assert "fi: converting" in shown and "3/3" in shown and "file/s" in shown


def test_quiet_when_not_a_terminal(tmp_path, monkeypatch):
    log = io.StringIO()  # a log file or a pipe: no bar
    monkeypatch.setattr(conversion.sys, "stderr", log)
    assert len(convert_all(jobs(tmp_path), workers=1)) == 3
    assert log.getvalue() == ""
