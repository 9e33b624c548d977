"""xlsr_finetuning's data checks: label lines, unknown symbols, dictionaries of checkpoints."""
import logging
import os

import numpy as np
import pytest
import soundfile as sf
from fairseq.data import Dictionary

import xlsr_plugin  # noqa: F401
from xlsr_plugin.tasks._multilingual import language_list
from xlsr_plugin.tasks.xlsr_finetuning import (
    LabelError,
    XlsrFinetuningConfig,
    XlsrFinetuningTask,
    some_symbols,
)

LABELS = {"fi": ["k i | s a", "v e s i"], "sw": ["m a j i", "j i | m a"]}


def write_data(data, labels=LABELS):
    every = set()
    for lang, lines in labels.items():
        folder = os.path.join(data, lang)
        os.makedirs(folder)
        rows = []
        for i, _ in enumerate(lines):
            sf.write(os.path.join(folder, f"{i}.wav"), np.zeros(8000 + 800 * i, dtype=np.float32), 16000)
            rows.append(f"{i}.wav\t{8000 + 800 * i}")
        with open(os.path.join(folder, "test.tsv"), "w") as f:
            f.write(folder + "\n" + "\n".join(rows) + "\n")
        with open(os.path.join(folder, "test.phn"), "w") as f:
            f.write("\n".join(lines) + "\n")
        symbols = sorted({s for line in lines for s in line.split()})
        with open(os.path.join(folder, "dict.phn.txt"), "w") as f:
            f.writelines(f"{s} 1\n" for s in symbols)
        every |= set(symbols)
    with open(os.path.join(data, "dict.phn.txt"), "w") as f:
        f.writelines(f"{s} 1\n" for s in sorted(every))


def make_task(data, **overrides):
    # seed: the config alone cannot resolve its II("common.seed"), which the collater's crop
    # generator reads
    return XlsrFinetuningTask(XlsrFinetuningConfig(**{"data": str(data), "labels": "phn", "seed": 1,
                                                      **overrides}))


def test_union_dictionary_for_many_languages_language_one_for_one(tmp_path):
    write_data(tmp_path)
    assert "j" in make_task(tmp_path).target_dictionary.indices
    assert "j" not in make_task(tmp_path, langs=["fi"]).target_dictionary.indices


def test_batches_carry_targets_and_languages(tmp_path):
    write_data(tmp_path)
    task = make_task(tmp_path)
    task.load_dataset("test")
    dataset = task.dataset("test")
    batch = dataset.collater([dataset[i] for i in range(len(dataset))])
    assert batch["lang"].tolist() == [0, 0, 1, 1]
    pad = task.target_dictionary.pad()
    assert task.target_dictionary.string(batch["target"][2][batch["target"][2] != pad]) == "m a j i"
    task.load_dataset("test_sw")
    assert len(task.dataset("test_sw")) == 2


def test_missing_label_line_names_the_manifest_line(tmp_path):
    write_data(tmp_path)
    with open(tmp_path / "sw" / "test.phn", "w") as f:
        f.write("m a j i\n")
    with pytest.raises(LabelError, match=r"sw/test.tsv, line 3 \(1.wav\): no label"):
        make_task(tmp_path).load_dataset("test")


def test_unknown_symbol_becomes_unk_and_is_logged(tmp_path, caplog):
    write_data(tmp_path)
    with open(tmp_path / "fi" / "test.phn", "w") as f:
        f.write("k i | s a\nv e ʃ ʃ i\n")
    task = make_task(tmp_path)
    with caplog.at_level(logging.WARNING):
        task.load_dataset("test_fi")
    assert "2 target symbols not in the dictionary" in caplog.text and "'ʃ': 2" in caplog.text
    target = task.dataset("test_fi")[1]["label"].tolist()
    assert target.count(task.target_dictionary.unk()) == 2


def load_checkpoint_dictionary(task, symbols):
    trained = Dictionary()
    for symbol in symbols:
        trained.add_symbol(symbol)
    task.target_dictionary  # noqa: B018  (fairseq-generate reads it before loading the model)
    task.load_state_dict({"target_dictionary": trained})  # what loading the checkpoint does
    return trained


def test_checkpoint_with_another_dictionary_is_refused_for_every_language(tmp_path):
    write_data(tmp_path)
    task = make_task(tmp_path)
    load_checkpoint_dictionary(task, ("k", "i", "x"))
    with pytest.raises(ValueError, match=r"only in the checkpoint's: \['x'\]; only in the data's: "
                       r"\['a', 'e', 'j', 'm', 's', 'v', '\|'\]"):
        task.load_dataset("test")


def test_split_of_one_language_decodes_with_the_checkpoint_dictionary(tmp_path, caplog):
    write_data(tmp_path)
    task = make_task(tmp_path)  # langs=[]: the data's dictionary would be the union
    trained = load_checkpoint_dictionary(task, ("k", "i", "|", "x"))
    with caplog.at_level(logging.WARNING):
        task.load_dataset("test_fi")
    # fi's labels "k i | s a", "v e s i": s, a, v, e, s are not in the checkpoint's dictionary
    assert "5 target symbols not in the dictionary" in caplog.text
    label = task.dataset("test_fi")[0]["label"].tolist()
    assert label == [trained.index(s) for s in ("k", "i", "|")] + [trained.unk()] * 2


def test_symbol_lists_are_cut_with_a_count():
    symbols = [chr(ord("a") + i) for i in range(20)]
    assert some_symbols(symbols) == "['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'] and 12 more"
    assert some_symbols(symbols[:3]) == "['a', 'b', 'c']"


def test_languages_from_the_command_line():
    assert language_list("ky,sv") == language_list("[ky, sv]") == ["ky", "sv"]
    assert language_list("['ky', 'sv']") == ["ky", "sv"]  # fairseq's list literal
    assert language_list("ky") == ["ky"] and language_list("") == []


def test_language_balanced_sampling_of_the_training_split(tmp_path):
    labels = {"fi": ["k i"] * 6, "sw": ["m a"] * 2}
    write_data(tmp_path, labels)
    task = make_task(tmp_path, sampling_alpha=0.0, sampling_unit="utterances", train_subset="test",
                     seed=1)
    task.load_dataset("test")
    dataset = task.dataset("test")
    # alpha = 0: uniform over languages, 8 draws split 4 / 4 (sw up-sampled with replacement)
    languages = dataset.language_of(np.arange(len(dataset)))
    assert sorted(np.bincount(languages).tolist()) == [4, 4]
    batch = dataset.collater([dataset[i] for i in range(len(dataset))])
    assert batch["target"].size(0) == len(dataset)


@pytest.mark.parametrize("metric, labels, logged, fix", [
    ("per", "ltr", "cer", "cer"), ("cer", "phn", "per", "per"),
    ("per", "wrd", "neither per nor cer", "uer or wer")])
def test_rate_the_labels_do_not_log_is_refused_at_set_up(tmp_path, metric, labels, logged, fix):
    """fairseq would stop at the first validation with a bare `KeyError: 'per'`."""
    with pytest.raises(ValueError, match=(
            rf"^checkpoint.best_checkpoint_metric={metric} is logged only with task.labels=\w+; "
            rf"with task.labels={labels} validation logs {logged}: "
            rf"pass checkpoint.best_checkpoint_metric={fix}")):
        XlsrFinetuningTask(XlsrFinetuningConfig(data=str(tmp_path), labels=labels,
                                                best_checkpoint_metric=metric))


@pytest.mark.parametrize("metric, labels", [("per", "phn"), ("cer", "ltr"), ("wer", "ltr"),
                                            ("loss", "wrd")])
def test_metric_the_labels_log_is_accepted(tmp_path, metric, labels):
    task = XlsrFinetuningTask(XlsrFinetuningConfig(data=str(tmp_path), labels=labels,
                                                   best_checkpoint_metric=metric))
    assert (task.cfg.labels, task.cfg.best_checkpoint_metric) == (labels, metric)
