"""Validating many languages one subset at a time stays bounded in processes and descriptors."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

HERE = os.path.dirname(os.path.abspath(__file__))
UTTERANCES, SAMPLES, WORKERS = 2, 4000, 6


def _write_valid_sets(data, languages):
    rng = np.random.default_rng(0)
    for i in range(languages):
        folder = os.path.join(data, f"l{i:02d}")
        os.makedirs(folder)
        rows = []
        for u in range(UTTERANCES):
            sf.write(os.path.join(folder, f"u{u}.wav"), rng.standard_normal(SAMPLES).astype(np.float32) * 0.1, 16000)
            rows.append(f"u{u}.wav\t{SAMPLES}\n")
        with open(os.path.join(folder, "valid.tsv"), "w") as f:
            f.write(folder + "\n")
            f.writelines(rows)


def _validate(data, data_buffer_size):
    script = os.path.join(HERE, "_validate_many_subsets.py")
    proc = subprocess.run([sys.executable, script, data, str(WORKERS), "1024", str(data_buffer_size)],
                          capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


# Stock fairseq keeps every subset's 6 workers alive (~4.35 descriptors each): the 39th subset
# fails with "Too many open files" under 1024 descriptors. data_buffer_size 10 is fairseq's
# default (a thread reads the DataLoader); 0 reads it from the validation loop.
@pytest.mark.parametrize("languages,data_buffer_size,workers_left", [(60, 10, WORKERS), (4, 0, 0)])
def test_many_subsets_validate_with_workers_under_1024_descriptors(tmp_path, languages, data_buffer_size, workers_left):
    _write_valid_sets(str(tmp_path), languages)
    result = _validate(str(tmp_path), data_buffer_size)
    passes = languages + 2  # every subset, then the first two again from their cached iterators
    assert result["subsets"] == passes
    assert result["utterances"] == passes * UTTERANCES
    # After each pass, at most that subset's workers are alive (the buffer's thread drops its
    # DataLoader as it finishes), and those of the one before that are still exiting: the
    # earlier subsets' are gone, with their descriptors (stock: 6 more workers per subset).
    assert max(result["workers"]) <= 2 * workers_left
    assert max(result["descriptors"]) - result["start_descriptors"] < 80
