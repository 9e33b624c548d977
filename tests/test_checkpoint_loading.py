"""A checkpoint is data: every entry point, run as a user runs it (a command in a fresh
process), refuses a file that would run code when unpickled, names what it holds and the
opt-in, and runs nothing; the real formats load without the opt-in; the opt-in loads a
trusted file that holds another class."""
import os
import subprocess
import sys

import pytest
import torch

from _crafted_checkpoints import CRAFTED
from _run_outputs import one_thread_env
from test_checkpoint_formats import as_cfg_dict_checkpoint
from test_finetuning_e2e import BIN, USER_DIR, finetuning_data, write_official_checkpoint  # noqa: F401
from xlsr_plugin.checkpoint_loading import UntrustedCheckpoint, load_checkpoint

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HAS_HF = all(__import__("importlib").util.find_spec(m) for m in ("transformers", "safetensors"))


def command(args, cwd, **env):
    proc = subprocess.run(args, capture_output=True, text=True, cwd=str(cwd),
                          env=one_thread_env(PYTHONPATH=ROOT, **env))
    return proc.returncode, proc.stdout + proc.stderr


def plugin_cli(name, source, tmp_path, *flags):
    """The plugin's three checkpoint readers, as their docs show them."""
    out = str(tmp_path / f"{name}_out")
    args = {
        "to_stock": ["-m", "xlsr_plugin.to_stock", source, out + ".pt"],
        "to_hf": ["-m", "xlsr_plugin.to_hf", source, out],
        "units": ["-m", "xlsr_plugin.analysis.units", "--path", source, "--data", str(tmp_path),
                  "--langs", "es", "--out", out, "--no-plots", "--device", "cpu", "--max-hours", "0"],
    }[name]
    return command([sys.executable, *args, *flags], tmp_path)


def real_state(checkpoint):
    return load_checkpoint(checkpoint)  # a real one, under the policy


def write_crafted(kind, pretrained_checkpoint, tmp_path):
    path, marker = str(tmp_path / f"{kind}.pt"), tmp_path / "pwned"
    CRAFTED[kind][0](path, marker, real_state(pretrained_checkpoint))
    return path, marker, CRAFTED[kind][1]


@pytest.fixture(params=sorted(CRAFTED))
def crafted(request, pretrained_checkpoint, tmp_path):
    return write_crafted(request.param, pretrained_checkpoint, tmp_path)


def assert_refused(rc, log, marker, holds, opt_in="--trust-checkpoint"):
    assert rc != 0, log[-3000:]
    assert f"refused: {holds}" in log and opt_in in log, log[-3000:]
    assert not marker.exists()


def test_the_loader_refuses_every_crafted_file(crafted):
    path, marker, holds = crafted
    with pytest.raises(UntrustedCheckpoint) as error:
        load_checkpoint(path)
    assert holds in str(error.value)
    assert not marker.exists()


@pytest.mark.parametrize("cli", ["to_stock", "to_hf", "units"])
def test_plugin_clis_refuse_every_crafted_file(cli, crafted, tmp_path):
    if cli == "to_hf" and not HAS_HF:
        pytest.skip("the hf extra is not installed")
    path, marker, holds = crafted
    rc, log = plugin_cli(cli, path, tmp_path)
    assert_refused(rc, log, marker, holds)
    assert "Traceback" not in log
    assert not [n for n in os.listdir(tmp_path) if n.startswith(cli)]  # nothing written


# The fairseq commands, with the two files that look most real: a pickle and a config field.
@pytest.fixture(params=["in_real_cfg", "evaluated_field"])
def looks_real(request, pretrained_checkpoint, tmp_path):
    return write_crafted(request.param, pretrained_checkpoint, tmp_path)


def hydra_train(config, run_dir, *overrides):
    return command([os.path.join(BIN, "fairseq-hydra-train"),
                    "--config-dir", os.path.join(ROOT, "config", config.split("/")[0]),
                    "--config-name", config.split("/")[1], f"common.user_dir={USER_DIR}",
                    f"hydra.run.dir={run_dir}/hydra", "checkpoint.save_dir=checkpoints",
                    *overrides], run_dir)


FAIRSEQ_OPT_IN = "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1"


def test_finetuning_refuses_a_crafted_w2v_path(looks_real, finetuning_data, tmp_path):  # noqa: F811
    path, marker, holds = looks_real
    rc, log = hydra_train("finetuning/ctc_tiny", tmp_path, f"task.data={finetuning_data}",
                          "task.langs=[fi]", f"model.w2v_path={path}")
    assert_refused(rc, log, marker, holds, FAIRSEQ_OPT_IN)


def test_generate_refuses_a_crafted_path(looks_real, finetuning_data, tmp_path):  # noqa: F811
    path, marker, holds = looks_real
    rc, log = command([os.path.join(BIN, "fairseq-generate"), finetuning_data, "--user-dir",
                       USER_DIR, "--task", "xlsr_finetuning", "--labels", "phn", "--path", path,
                       "--gen-subset", "test_fi", "--scoring", "per"], tmp_path)
    assert_refused(rc, log, marker, holds, FAIRSEQ_OPT_IN)


def test_resume_refuses_a_crafted_checkpoint_last(looks_real, pretraining_data, tmp_path):
    path, marker, holds = looks_real
    save_dir = tmp_path / "checkpoints"  # relative to where the command starts (no chdir)
    os.makedirs(save_dir)
    os.replace(path, save_dir / "checkpoint_last.pt")
    rc, log = hydra_train("pretraining/xlsr_tiny", tmp_path, f"task.data={pretraining_data}")
    assert_refused(rc, log, marker, holds, FAIRSEQ_OPT_IN)


def test_real_formats_load_without_opting_in(pretrained_checkpoint, finetuning_data, tmp_path):  # noqa: F811
    argparse_format = str(tmp_path / "wav2vec_small_format.pt")
    write_official_checkpoint(finetuning_data, argparse_format)
    released = str(tmp_path / "xlsr_53_56k_format.pt")
    as_cfg_dict_checkpoint(argparse_format, released)
    assert load_checkpoint(argparse_format)["args"].arch == "wav2vec2"
    assert load_checkpoint(released)["cfg"]["model"]["_name"] == "wav2vec2"
    assert load_checkpoint(pretrained_checkpoint)["cfg"]["model"]["_name"] == "xlsr"
    rc, log = plugin_cli("to_stock", pretrained_checkpoint, tmp_path)
    assert rc == 0, log
    assert real_state(str(tmp_path / "to_stock_out.pt"))["cfg"]["model"]["_name"] == "wav2vec2"


@pytest.mark.skipif(not HAS_HF, reason="the hf extra is not installed")
def test_to_hf_exports_the_argparse_format_in_a_fresh_process(finetuning_data, tmp_path):  # noqa: F811
    # A fresh process: Hydra's version base was never set before to_hf's own call (it failed
    # with "Unexpected Version type" when the base was put back)
    from test_to_hf import write_args_checkpoint

    argparse_format = write_args_checkpoint(tmp_path / "wav2vec_small_format.pt", finetuning_data)
    rc, log = plugin_cli("to_hf", argparse_format, tmp_path)
    assert rc == 0, log[-3000:]
    assert f"wrote {tmp_path / 'to_hf_out'} (Wav2Vec2ForPreTraining" in log
    assert os.path.isfile(tmp_path / "to_hf_out" / "config.json")


def test_the_opt_in_loads_a_trusted_file_with_another_class(pretrained_checkpoint, tmp_path):
    from fractions import Fraction

    trusted = with_a_fraction(pretrained_checkpoint, tmp_path / "trusted.pt")
    rc, log = plugin_cli("to_stock", trusted, tmp_path)
    assert_refused(rc, log, tmp_path / "pwned", "it holds fractions.Fraction")
    rc, log = plugin_cli("to_stock", trusted, tmp_path, "--trust-checkpoint")
    assert rc == 0, log
    assert torch.load(str(tmp_path / "to_stock_out.pt"), weights_only=False)["note"] == Fraction(1, 3)


def with_a_fraction(pretrained_checkpoint, path):
    """A real checkpoint plus a harmless class outside the allow-list, as a user's own old file."""
    from fractions import Fraction

    torch.save(dict(real_state(pretrained_checkpoint), note=Fraction(1, 3)), path)
    return str(path)


def test_fairseqs_opt_in_is_torchs_environment_variable(pretrained_checkpoint, tmp_path, monkeypatch):
    from fairseq import checkpoint_utils

    from xlsr_plugin.checkpoint_loading import check_checkpoint, fairseq_loads

    trusted = with_a_fraction(pretrained_checkpoint, tmp_path / "trusted.pt")
    with pytest.raises(UntrustedCheckpoint, match=f"fractions.Fraction.*{FAIRSEQ_OPT_IN}"):
        check_checkpoint(trusted)
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    check_checkpoint(trusted)  # what the tasks check before fairseq loads
    with fairseq_loads():
        assert str(checkpoint_utils.load_checkpoint_to_cpu(trusted)["note"]) == "1/3"


def test_the_unit_analysis_opt_in(pretrained_checkpoint, pretraining_data, tmp_path):
    from xlsr_plugin.analysis.unit_counting import load_quantizer_model

    trusted = with_a_fraction(pretrained_checkpoint, tmp_path / "trusted.pt")
    with pytest.raises(UntrustedCheckpoint, match="fractions.Fraction.*--trust-checkpoint"):
        load_quantizer_model(trusted, pretraining_data)
    assert load_quantizer_model(trusted, pretraining_data, trust=True).num_codewords == 32 * 32
