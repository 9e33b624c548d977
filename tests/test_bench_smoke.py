"""Every benchmark still runs: `python bench/<name>.py --smoke` (the same code path at a size of
seconds) for every bench/*.py, found by glob so that a new bench is covered without an edit here.
A bench without --smoke fails (argparse refuses the option, or the full size runs past the
timeout)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHES = sorted(path for path in (ROOT / "bench").glob("*.py") if not path.name.startswith("_"))
TIMEOUT_S = 600  # a smoke run takes seconds on an idle machine; a full-size one far longer


def test_benches_are_found():
    assert {"conversion", "decode", "train_step", "sampler", "loader", "memory", "criterion_sync", "health"} <= {
        path.stem for path in BENCHES}


@pytest.mark.parametrize("bench", BENCHES, ids=lambda path: path.name)
def test_smoke_run(bench, tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
               OMP_NUM_THREADS="1")
    try:
        proc = subprocess.run([sys.executable, str(bench), "--smoke"], capture_output=True,
                              text=True, cwd=tmp_path, env=env, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{bench.name} --smoke still running after {TIMEOUT_S} s: no smoke size?")
    assert proc.returncode == 0, f"{bench.name} --smoke failed:\n{proc.stderr[-4000:]}"
    assert proc.stdout.strip(), f"{bench.name} --smoke printed no figures"
    assert not list(tmp_path.iterdir()), "a bench left files in its working folder"
