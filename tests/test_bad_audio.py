"""Bad audio at training time: pretraining replaces, logs once and counts; fine-tuning fails naming
the file and its manifest line; too many bad files stop the run with their list."""
import os
import re
import shutil

import numpy as np
import pytest
from fairseq.tasks import setup_task
from omegaconf import OmegaConf

from _pretraining_runs import train_tiny
from xlsr_plugin.synthetic.data_folders import write_noise_language
from xlsr_plugin.data.bad_audio import BadAudio, BadAudioError, BadAudioLog, replacement_candidates, row_of
from xlsr_plugin.data.checked_audio import CheckedFileAudioDataset
from xlsr_plugin.tasks.xlsr_pretraining import XlsrPretrainingConfig


def truncate(path, keep=100):
    """What a copy cut short leaves: the WAV header announcing every frame, 100 bytes in all."""
    with open(path, "rb") as f:
        head = f.read(keep)
    with open(path, "wb") as f:
        f.write(head)


@pytest.fixture
def broken(tmp_path):
    """DATA/xx/train.tsv of 6 one-second files: train1 deleted, train2 truncated."""
    data = str(tmp_path / "data")
    write_noise_language(data, "xx", 6, 1.0)
    audio = os.path.join(data, "xx", "audio")
    os.remove(os.path.join(audio, "train1.wav"))
    truncate(os.path.join(audio, "train2.wav"))
    return data, os.path.join(data, "xx", "train.tsv")


def test_replacement_is_a_function_of_seed_epoch_and_index():
    first = list(replacement_candidates(1, 1, 4, 10))
    assert first == list(replacement_candidates(1, 1, 4, 10))
    assert 4 not in first and all(0 <= c < 10 for c in first)
    assert first != list(replacement_candidates(1, 2, 4, 10))
    assert first != list(replacement_candidates(2, 1, 4, 10))
    assert list(replacement_candidates(1, 1, 0, 1)) == []  # nothing to replace a lone utterance with


def test_row_of_counts_rows_skipped_under_min_size():
    # rows 0 and 2 skipped: items 0, 1, 2, 3 are rows 1, 3, 4, 5
    assert [row_of(i, {0, 2}) for i in range(4)] == [1, 3, 4, 5]


def test_pretraining_dataset_replaces_missing_and_truncated_files(broken):
    _, manifest = broken
    dataset = CheckedFileAudioDataset(manifest, sample_rate=16000, replace_bad=True, seed=1)
    for index, reason in ((1, "missing"), (2, "decodes to")):
        item = dataset[index]
        assert item["id"] == index
        bad = item["bad_audio"][0]
        assert (bad.manifest, bad.row) == (manifest, index) and reason in bad.reason
        assert bad.path.endswith(f"train{index}.wav") and f"line {index + 2}" in bad.describe()
        # The stand-in is the first good candidate of (seed 1, epoch 1, index).
        stand_in = next(c for c in replacement_candidates(1, 1, index, 6) if c not in (1, 2))
        np.testing.assert_array_equal(item["source"].numpy(), dataset[stand_in]["source"].numpy())
    assert "bad_audio" not in dataset[0]


def test_finetuning_dataset_fails_naming_file_and_line(broken):
    _, manifest = broken
    with open(os.path.join(os.path.dirname(manifest), "audio", "train3.wav"), "wb") as f:
        f.write(b"not audio at all" * 100)
    dataset = CheckedFileAudioDataset(manifest, sample_rate=16000)
    with pytest.raises(BadAudioError, match=r"train1\.wav \(.*train\.tsv, line 3\): missing"):
        dataset[1]
    with pytest.raises(BadAudioError, match=r"train2\.wav \(.*line 4\): decodes to \d+ frames, the manifest says 16000"):
        dataset[2]
    with pytest.raises(BadAudioError, match=r"train3\.wav \(.*line 5\): unreadable"):
        dataset[3]


def test_log_names_each_file_once_and_stops_past_the_share(caplog):
    log = BadAudioLog(max_share=0.25)
    log.add_manifest("m.tsv", 8)
    bad = [BadAudio("m.tsv", row, f"a{row}.wav", "missing") for row in range(3)]
    with caplog.at_level("WARNING"):
        assert log.record(bad[:2] + bad[:1]) == 2
        assert log.record(bad[:2]) == 0
    assert [r.getMessage().count("a0.wav (m.tsv, line 2)") for r in caplog.records] == [1, 0]
    with pytest.raises(BadAudioError, match=r"m.tsv: 3 of 8 utterances are bad, more than "
                       r"task.bad_audio_max_share=0.25(.|\n)*a0.wav(.|\n)*a1.wav(.|\n)*a2.wav"):
        log.record(bad[2:])


def test_bad_files_reach_the_training_process_from_loader_workers(broken):
    data, manifest = broken
    cfg = XlsrPretrainingConfig(_name="xlsr_pretraining", data=data, train_subset="train", seed=1,
                                tpu=False, bad_audio_max_share=0.5, max_sample_size=16000)
    task = setup_task(OmegaConf.structured(cfg))
    task.load_dataset("train")
    dataset = task.dataset("train")
    itr = task.get_batch_iterator(dataset, max_tokens=32000, seed=1, num_workers=2, epoch=1)
    replaced = sum(task.replaced_audio(batch) for batch in itr.next_epoch_itr(shuffle=False))
    assert replaced == 2  # one epoch reads every utterance once: train1 and train2 are replaced
    assert [(b.row, b.reason[:7]) for b in task.bad_audio_log.files()] == [(1, "missing"), (2, "decodes")]
    assert not dataset.can_reuse_epoch_itr_across_epochs  # workers must see each epoch's number


def _copy_with_bad_files(pretraining_data, tmp_path):
    data = str(tmp_path / "data")
    shutil.copytree(pretraining_data, data)
    for lang in os.listdir(data):  # the manifests' root folder is absolute: point it at the copy
        for name in os.listdir(os.path.join(data, lang)):
            if name.endswith(".tsv"):
                path = os.path.join(data, lang, name)
                with open(path) as f:
                    lines = f.read().split("\n")
                lines[0] = os.path.join(data, lang)
                with open(path, "w") as f:
                    f.write("\n".join(lines))
    truncate(os.path.join(data, "es", "audio", "train_0003.wav"))
    os.remove(os.path.join(data, "fi", "audio", "train_0002.wav"))
    return data


def test_training_run_with_workers_replaces_logs_and_counts(pretraining_data, tmp_path):
    data = _copy_with_bad_files(pretraining_data, tmp_path)
    run = train_tiny(data, tmp_path / "run", 8, "dataset.num_workers=2", "task.bad_audio_max_share=0.2")
    for name, line in (("es/audio/train_0003.wav", 5), ("fi/audio/train_0002.wav", 4)):
        warnings = [x for x in run.log.splitlines() if "bad audio" in x and name in x]
        assert len(warnings) == 1 and f"train.tsv, line {line})" in warnings[0]
    counts = [int(c) for c in re.findall(r"\[train_inner\].*?bad_audio=(\d+)", run.log)]
    assert len(counts) == 8 and sum(counts) >= 2  # one epoch of 8 batches drew each bad file


def test_training_run_stops_when_a_language_has_too_many_bad_files(pretraining_data, tmp_path):
    data = _copy_with_bad_files(pretraining_data, tmp_path)
    with pytest.raises(AssertionError, match=r"BadAudioError: .*train\.tsv: 1 of \d+ utterances are bad, "
                       r"more than task.bad_audio_max_share=0.01"):
        train_tiny(data, tmp_path / "run", 8)


def test_finetuning_task_split_fails_naming_file_and_line(tmp_path):
    """What fairseq-generate and fine-tuning read: a deleted file of test_sw stops them."""
    from test_finetuning_task import make_task, write_data

    write_data(tmp_path)
    os.remove(tmp_path / "sw" / "1.wav")
    task = make_task(tmp_path)
    task.load_dataset("test_sw")
    dataset = task.dataset("test_sw")
    assert dataset[0]["source"].shape[-1] == 8000
    with pytest.raises(BadAudioError, match=r"sw/1\.wav \(.*sw/test\.tsv, line 3\): missing"):
        dataset[1]
