"""Two CPU processes train xlsr_tiny through fairseq-hydra-train (gloo): the xlsr criterion's
logging outputs sync across workers every update and validation, per language."""
import os
import re
import socket
import subprocess
import sys

import pytest

from _pretraining_runs import ROOT, USER_DIR

HYDRA_TRAIN = os.path.join(os.path.dirname(sys.executable), "fairseq-hydra-train")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_two_ranks(data, tmp_path, max_update: int, name: str):
    """Both ranks of one run, as a launcher would start them; their logs."""
    port = _free_port()
    procs = []
    for rank in (0, 1):
        command = [
            HYDRA_TRAIN, "--config-dir", os.path.join(ROOT, "config", "pretraining"), "--config-name", "xlsr_tiny",
            f"common.user_dir={USER_DIR}", f"task.data={data}",
            f"checkpoint.save_dir={tmp_path}/checkpoints", f"hydra.run.dir={tmp_path}/{name}{rank}",
            f"optimization.max_update={max_update}", "common.log_interval=1", "task.min_sample_size=4000",
            "dataset.max_tokens=80000", "optimization.update_freq=[4]", "dataset.validate_interval_updates=2",
            "dataset.valid_subset='valid,valid_sw'", "common.cpu=true",
            # What the Base/Large configs use on GPUs, here on two CPU processes.
            "distributed_training.distributed_world_size=2", "distributed_training.ddp_backend=no_c10d",
            "distributed_training.distributed_backend=gloo", "distributed_training.distributed_no_spawn=true",
            f"distributed_training.distributed_init_method=tcp://127.0.0.1:{port}",
            f"distributed_training.distributed_rank={rank}", "distributed_training.device_id=0",
        ]
        procs.append(subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                      cwd=tmp_path, env=dict(os.environ, OMP_NUM_THREADS="1")))
    logs = [proc.communicate(timeout=600)[0] for proc in procs]
    for rank, (proc, log) in enumerate(zip(procs, logs)):
        assert proc.returncode == 0, f"rank {rank}:\n{log[-4000:]}"
    return logs


def test_two_processes_train_validate_per_language_and_resume(pretraining_data, tmp_path):
    logs = launch_two_ranks(pretraining_data, tmp_path, 4, "first")
    log = logs[0]
    updates = re.findall(r"\[train_inner\].*num_updates=(\d+)", log)
    assert updates == ["1", "2", "3", "4"]
    for lang in ("es", "fi", "sw"):
        assert re.search(rf"loss_{lang}=[\d.]+, accuracy_{lang}=[\d.]+, code_ppl_{lang}=[\d.]+", log)
    valid_sw = [line for line in log.splitlines() if "valid on 'valid_sw' subset" in line]
    assert len(valid_sw) == 4  # each epoch is one update here: validated at its end
    for line in valid_sw:
        values = dict(re.findall(r"\| (\w+) ([-\d.]+)", line))
        assert float(values["loss_sw"]) == pytest.approx(float(values["loss_0"]), abs=1.001e-3)
        assert float(values["nsentences"]) == 2  # both ranks' utterances, summed
    # Relaunched for 2 more updates, both ranks resume from checkpoint_last.pt (each reads it:
    # fairseq's broadcast from rank 0 is refused under torch's weights_only loading).
    logs = launch_two_ranks(pretraining_data, tmp_path, 6, "again")  # both ranks exit 0
    assert re.search(r"Loaded checkpoint \S+checkpoint_last\.pt \(epoch \d+ @ 4 updates\)", logs[0])
    assert re.findall(r"\[train_inner\].*num_updates=(\d+)", logs[0]) == ["5", "6"]
