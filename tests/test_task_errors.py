"""xlsr_pretraining: bad data is a clear error naming the file and line; no data is needed to
set the task up."""
import os

import pytest
from fairseq.tasks import setup_task
from omegaconf import OmegaConf

from xlsr_plugin.data.manifests import ManifestError, read_manifest
from xlsr_plugin.tasks.xlsr_pretraining import XlsrPretrainingConfig


def _task(data, **overrides):
    cfg = OmegaConf.structured(XlsrPretrainingConfig(
        _name="xlsr_pretraining", data=str(data), train_subset="train", seed=1, tpu=False, **overrides))
    return setup_task(cfg)


def _manifest(data, lang, split, lines, root=None):
    folder = data / lang
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{split}.tsv").write_text("\n".join([str(root or folder)] + lines) + "\n")
    return folder / f"{split}.tsv"


def test_task_sets_up_without_its_data(tmp_path):
    task = _task(tmp_path / "not-there", langs=["es", "fr"])
    assert task.languages == ["es", "fr"]


def test_listed_language_without_manifest(tmp_path):
    _manifest(tmp_path, "es", "train", ["a.wav\t16000"])
    task = _task(tmp_path, langs=["es", "fr"])
    with pytest.raises(ManifestError, match=r"language 'fr': manifest .*fr/train.tsv not found"):
        task.load_dataset("train")


def test_malformed_line_is_named(tmp_path):
    path = _manifest(tmp_path, "es", "train", ["a.wav\t16000", "b.wav 16000", "c.wav\t1"])
    with pytest.raises(ManifestError, match=rf"{path}, line 3: expected 'relative/path<TAB>frames'"):
        _task(tmp_path).load_dataset("train")


def test_the_manifest_reader_reads_rows_and_names_a_bad_line(tmp_path):
    """The one reader of fairseq's .tsv (data preparation, analysis, demo and tests use it)."""
    path = _manifest(tmp_path, "es", "train", ["a.wav\t16000", "sub/b.flac\t8000"])
    assert read_manifest(str(path)) == (str(tmp_path / "es"), [("a.wav", 16000), ("sub/b.flac", 8000)])
    path = _manifest(tmp_path, "es", "train", ["a.wav\t16000", "", "c.wav\t1"])
    with pytest.raises(ManifestError, match=rf"{path}, line 3: expected 'relative/path<TAB>frames'"):
        read_manifest(str(path))


def test_missing_root_folder(tmp_path):
    path = _manifest(tmp_path, "es", "train", ["a.wav\t16000"], root=tmp_path / "gone")
    with pytest.raises(ManifestError, match=rf"{path}, line 1: audio root folder .*gone does not exist"):
        _task(tmp_path).load_dataset("train")


def test_empty_language(tmp_path):
    _manifest(tmp_path, "es", "train", ["a.wav\t16000"])
    _manifest(tmp_path, "sw", "train", ["a.wav\t100"])
    with pytest.raises(ManifestError, match=r"language 'sw': .*sw/train.tsv lists no utterances of at least 4000"):
        _task(tmp_path, min_sample_size=4000).load_dataset("train")


def test_empty_langs_means_every_folder_with_the_split(tmp_path):
    for lang in ("es", "fi"):
        _manifest(tmp_path, lang, "train", ["a.wav\t16000"])
    _manifest(tmp_path, "sw", "valid", ["a.wav\t16000"])
    task = _task(tmp_path)
    task.load_dataset("train")
    assert task.dataset("train").names == ["es", "fi"]
    task.load_dataset("valid_sw")
    assert task.dataset("valid_sw").names == ["sw"]
    assert task.languages == ["es", "fi", "sw"]
    assert os.path.isdir(tmp_path / "sw")


def test_unsupported_stock_option(tmp_path):
    with pytest.raises(ValueError, match="multi_corpus_keys"):
        _task(tmp_path, multi_corpus_keys="a,b")
