"""Every config names the plugin itself and keeps paths relative to the folder typed in:
`fairseq-hydra-train --config-dir config/... --config-name NAME task.data=DATA` works as typed,
without common.user_dir=."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
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


def users_folder(data, folder):
    """A folder laid out as the README's user has it: the repository's config/ and xlsr_plugin/
    (linked) and DATA/ (es, fi: data's manifests with character labels)."""
    for name in ("config", "xlsr_plugin"):
        (folder / name).symlink_to(ROOT / name)
    for lang in ("es", "fi"):
        labelled_copy(data, lang, folder / "DATA")
    return folder


def typed_in(folder, command, *arguments):
    """A fairseq command as a shell in `folder` runs it (cwd and $PWD), relative paths as typed."""
    env = dict(os.environ, PWD=str(folder), OMP_NUM_THREADS="1")
    return subprocess.run([str(BIN / command), *arguments], capture_output=True, text=True,
                          cwd=folder, env=env)


def updates_of(checkpoint):
    return torch.load(checkpoint, map_location="cpu", weights_only=False)["optimizer_history"][-1][
        "num_updates"]


def test_readme_commands_with_relative_paths(pretraining_data, tmp_path):
    """Pretrain, fine-tune and decode with task.data=DATA and a relative model.w2v_path, the
    checkpoints in the configs' checkpoints/<config name>/ of the folder typed in."""
    folder = users_folder(pretraining_data, tmp_path)
    pretrain = typed_in(folder, "fairseq-hydra-train", "--config-dir", "config/pretraining",
                        "--config-name", "xlsr_tiny", "task.data=DATA", "task.min_sample_size=4000",
                        "optimization.max_update=2")
    assert pretrain.returncode == 0, pretrain.stderr[-3000:]
    assert updates_of(folder / "checkpoints" / "xlsr_tiny" / "checkpoint_last.pt") == 2
    assert len(list(folder.glob("outputs/*/*/hydra_train.log"))) == 1  # Hydra's log, as ever
    finetune = typed_in(folder, "fairseq-hydra-train", "--config-dir", "config/finetuning",
                        "--config-name", "ctc_tiny", "task.data=DATA", "task.langs=[fi]",
                        "task.labels=ltr", "checkpoint.best_checkpoint_metric=cer",
                        "model.w2v_path=checkpoints/xlsr_tiny/checkpoint_last.pt",
                        "optimization.max_update=3")  # tri-stage: 3 phases
    assert finetune.returncode == 0, finetune.stderr[-3000:]
    assert updates_of(folder / "checkpoints" / "ctc_tiny" / "checkpoint_last.pt") == 3
    decode = typed_in(folder, "fairseq-generate", "DATA", "--user-dir", "xlsr_plugin", "--task",
                      "xlsr_finetuning", "--labels", "ltr", "--langs", "fi", "--path",
                      "checkpoints/ctc_tiny/checkpoint_best.pt", "--gen-subset", "valid_fi",
                      "--scoring", "cer")
    assert decode.returncode == 0, decode.stderr[-3000:]
    # 2 valid utterances of "a b | c |", 4 units each: a, b, the boundary between words, c.
    assert "/ 8 reference units, 2 utterances)" in decode.stdout


def test_the_plugins_paths_when_hydra_changes_directory(pretraining_data, pretrained_checkpoint, tmp_path):
    """With hydra.job.chdir=true the job runs in outputs/<date>/<time>/; the plugin still reads
    model.w2v_path relative to the folder typed in (fairseq's own paths must then be absolute)."""
    folder = users_folder(pretraining_data, tmp_path)
    shutil.copy(pretrained_checkpoint, folder / "pretrained.pt")
    proc = typed_in(folder, "fairseq-hydra-train", "--config-dir", "config/finetuning",
                    "--config-name", "ctc_tiny", f"task.data={folder / 'DATA'}", "task.langs=[fi]",
                    "task.labels=ltr", "checkpoint.best_checkpoint_metric=cer",
                    "model.w2v_path=pretrained.pt", "optimization.max_update=3",
                    "hydra.job.chdir=true", f"checkpoint.save_dir={folder / 'finetuned'}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert updates_of(folder / "finetuned" / "checkpoint_last.pt") == 3


@pytest.mark.parametrize("lang, tried", [
    ("sw", "DATA/sw/dict.ltr.txt"),  # no DATA/sw/: the first file looked for, its dictionary
    ("fi", "PRETRAINED.pt"),  # DATA/fi/ is complete: the pretrained model is looked for next
])
def test_a_missing_file_is_named_by_its_absolute_path(pretraining_data, tmp_path, lang, tried):
    folder = users_folder(pretraining_data, tmp_path)
    proc = typed_in(folder, "fairseq-hydra-train", "--config-dir", "config/finetuning",
                    "--config-name", "ctc_tiny", "task.data=DATA", f"task.langs=[{lang}]",
                    "task.labels=ltr", "checkpoint.best_checkpoint_metric=cer",
                    "model.w2v_path=PRETRAINED.pt")
    assert proc.returncode != 0
    assert f"{folder / tried} not found" in proc.stderr or f"'{folder / tried}'" in proc.stderr, \
        proc.stderr[-2000:]


def test_explicit_user_dir_wins(tmp_path):
    elsewhere = tmp_path / "no_plugin_here"
    proc = typed_at_root("--config-dir", "config/pretraining", "--config-name", "xlsr_tiny",
                         "task.data=unused", f"common.user_dir={elsewhere}", run_dir=tmp_path)
    assert proc.returncode != 0
    assert f"FileNotFoundError: {elsewhere}" in proc.stderr
