"""Every config names the plugin itself: `fairseq-hydra-train --config-dir config/... --config-name
NAME task.data=DATA` works as typed from the repository root, without common.user_dir=."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _configs import composed

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CONFIGS = sorted((ROOT / "config" / "pretraining").glob("*.yaml")) + sorted(
    (ROOT / "config" / "finetuning").glob("*.yaml"))


def typed_at_root(*arguments, run_dir):
    """fairseq-hydra-train as a shell at the repository root runs it (cwd and $PWD the root);
    Hydra's outputs go to run_dir."""
    command = [str(BIN / "fairseq-hydra-train"), *arguments, f"hydra.run.dir={run_dir}/hydra",
               f"checkpoint.save_dir={run_dir}/checkpoints"]
    env = dict(os.environ, PWD=str(ROOT))
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env)


def test_every_top_level_config_is_listed():
    names = {path.stem for path in CONFIGS}
    assert names == {"xlsr_base", "xlsr_large", "xlsr_53", "xlsr_tiny", "xlsr_mini", "xlsr_mini_long",
                     "ctc", "ctc_tiny", "ctc_mini"}


def test_long_preset_changes_only_the_size():
    root = ROOT / "config"
    mini, long = composed(root / "pretraining" / "xlsr_mini.yaml"), composed(
        root / "pretraining" / "xlsr_mini_long.yaml")
    assert (long.model.encoder_layers, long.model.encoder_embed_dim) == (4, 128)
    assert (mini.model.encoder_layers, mini.model.encoder_embed_dim) == (2, 64)
    size = {"encoder_layers", "encoder_embed_dim", "encoder_ffn_embed_dim", "encoder_attention_heads"}
    assert {k: v for k, v in long.model.items() if k not in size} == {
        k: v for k, v in mini.model.items() if k not in size}
    assert long.model.extractor_mode == "layer_norm" and long.optimization == mini.optimization
    ctc = composed(root / "finetuning" / "ctc_mini.yaml")
    assert (ctc.model.mask_prob, ctc.model.mask_channel_prob, ctc.optimization.max_update) == (
        0.5, 0.25, 2000)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda path: path.stem)
def test_user_dir_is_the_plugin_under_the_shell_folder(path, monkeypatch, tmp_path):
    monkeypatch.setenv("PWD", str(tmp_path))
    assert composed(path).common.user_dir == str(tmp_path / "xlsr_plugin")


def test_pretraining_from_the_repository_root(pretraining_data, tmp_path):
    proc = typed_at_root("--config-dir", "config/pretraining", "--config-name", "xlsr_tiny",
                         f"task.data={pretraining_data}", "task.min_sample_size=4000",
                         "optimization.max_update=1", run_dir=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "checkpoints" / "checkpoint_last.pt").is_file()
    assert not (ROOT / ".hydra").exists()


def labelled_copy(data, lang, folder):
    """folder/<lang>/: data's manifests (same audio) with one made-up character label per row."""
    (folder / lang).mkdir(parents=True)
    for split in ("train", "valid"):
        manifest = (Path(data) / lang / f"{split}.tsv").read_text()
        (folder / lang / f"{split}.tsv").write_text(manifest)
        rows = len(manifest.splitlines()) - 1
        (folder / lang / f"{split}.ltr").write_text("a b | c |\n" * rows)
    (folder / lang / "dict.ltr.txt").write_text("a 1\nb 1\nc 1\n| 1\n")
    return str(folder)


def test_finetuning_from_the_repository_root(pretraining_data, pretrained_checkpoint, tmp_path):
    data = labelled_copy(pretraining_data, "es", tmp_path / "data")
    proc = typed_at_root("--config-dir", "config/finetuning", "--config-name", "ctc_tiny",
                         f"task.data={data}", "task.langs=[es]", "task.labels=ltr",
                         "checkpoint.best_checkpoint_metric=cer",  # ctc_tiny selects by per
                         f"model.w2v_path={pretrained_checkpoint}",
                         "optimization.max_update=3", run_dir=tmp_path)  # tri-stage: 3 phases
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "checkpoints" / "checkpoint_last.pt").is_file()


def test_explicit_user_dir_wins(tmp_path):
    elsewhere = tmp_path / "no_plugin_here"
    proc = typed_at_root("--config-dir", "config/pretraining", "--config-name", "xlsr_tiny",
                         "task.data=unused", f"common.user_dir={elsewhere}", run_dir=tmp_path)
    assert proc.returncode != 0
    assert f"FileNotFoundError: {elsewhere}" in proc.stderr
