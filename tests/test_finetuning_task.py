"""xlsr_finetuning's data checks: label lines, unknown symbols, dictionaries of checkpoints."""
import logging
import os

import numpy as np
import pytest
import soundfile as sf
import torch
from fairseq.data import Dictionary

import xlsr_plugin  # noqa: F401
from xlsr_plugin.data.manifests import ManifestError
from xlsr_plugin.tasks._multilingual import language_list
from xlsr_plugin.tasks.xlsr_finetuning import (
    LabelError,
    XlsrFinetuningConfig,
    XlsrFinetuningTask,
    normalizes_over_time,
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


def write_checkpoint(path, symbols):
    """A fine-tuned checkpoint as far as its dictionary goes: the task state fairseq saves."""
    trained = Dictionary()
    for symbol in symbols:
        trained.add_symbol(symbol)
    torch.save({"task_state": {"target_dictionary": trained}}, path)
    return trained


def test_decoding_reads_the_checkpoint_dictionary_before_the_model(tmp_path):
    """fairseq-generate takes task.target_dictionary before it loads the checkpoint and prints
    and scores with it: with --path known, that is already the checkpoint's (fi's, not the
    union of DATA)."""
    write_data(tmp_path)
    checkpoint = str(tmp_path / "fi.pt")
    trained = write_checkpoint(checkpoint, ("a", "i", "k", "s", "|"))
    task = make_task(tmp_path, eval_path=checkpoint)
    assert task.target_dictionary.symbols == trained.symbols
    task.load_state_dict({"target_dictionary": write_checkpoint(tmp_path / "copy.pt", "aiks|")})
    task.load_dataset("test_fi")
    label = task.dataset("test_fi")[0]["label"].tolist()  # "k i | s a"
    assert label == [trained.index(s) for s in ("k", "i", "|", "s", "a")]


def test_another_target_dictionary_than_the_checkpoint_is_refused(tmp_path):
    write_data(tmp_path)
    checkpoint = str(tmp_path / "fi.pt")
    write_checkpoint(checkpoint, ("a", "i", "k", "s", "|"))
    task = make_task(tmp_path, eval_path=checkpoint, target_dictionary=str(tmp_path))
    task.target_dictionary  # noqa: B018  (as fairseq-generate)
    with pytest.raises(ValueError, match=r"only in the data's: \['e', 'j', 'm', 'v'\]\. Leave "
                       r"--target-dictionary out \(the checkpoint's is used\)"):
        task.load_dataset("test_fi")


def test_split_of_a_language_outside_langs_says_so(tmp_path):
    write_data(tmp_path)
    with pytest.raises(ManifestError, match=r"split 'test_sw': language 'sw' is not among the "
                       r"task's languages \['fi'\] \(task.langs / --langs\)"):
        make_task(tmp_path, langs=["fi"]).load_dataset("test_sw")


@pytest.mark.parametrize("mode, alone", [("default", True), ("layer_norm", False)])
def test_group_norm_encoders_evaluate_one_utterance_per_batch(tmp_path, mode, alone):
    """wav2vec 2.0's `default` feature encoder group-normalizes over time, padding included."""
    from fairseq.models.wav2vec.wav2vec2 import ConvFeatureExtractionModel

    assert normalizes_over_time(ConvFeatureExtractionModel([(8, 10, 5)], mode=mode)) == alone
    write_data(tmp_path)
    task = make_task(tmp_path)
    task.load_dataset("test")
    task.one_utterance_batches = alone  # what build_model sets from the model
    batches = task.get_batch_iterator(task.dataset("test"), max_tokens=10**6).next_epoch_itr()
    sizes = [len(batch["id"]) for batch in batches]
    assert sizes == ([1, 1, 1, 1] if alone else [4])
