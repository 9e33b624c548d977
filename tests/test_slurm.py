"""Pretraining launched through a real Slurm (scripts/slurm/local_cluster.sh, one machine):
Hydra's submitit launcher, the sbatch + srun script, and a preempted job that requeues itself.
Two 1-CPU tasks, gloo, xlsr_tiny; fairseq takes each task's rank from Slurm (no rank passed)."""
import glob
import os
import re
import subprocess
import sys

import pytest
from fairseq import checkpoint_utils

from _pretraining_runs import ROOT, USER_DIR
from _run_outputs import one_thread_env, train_losses, weight_differences
from _slurm import cluster, read, responds, sbatch, state, wait_done, wait_for
from xlsr_plugin.models.xlsr import XlsrModel

HYDRA_TRAIN = os.path.join(os.path.dirname(sys.executable), "fairseq-hydra-train")
SBATCH_SCRIPT = os.path.join(ROOT, "scripts", "slurm", "xlsr.sbatch")
TINY = ["common.log_interval=1", "task.min_sample_size=4000", "dataset.max_tokens=80000",
        "dataset.validate_interval_updates=2", "dataset.valid_subset='valid,valid_sw'"]
# What slurm_cpu.yaml sets for the submitit launcher, given to the plain script by hand.
CPU = ["common.cpu=true", "distributed_training.distributed_backend=gloo",
       "distributed_training.ddp_backend=no_c10d"]
# The one-machine cluster's job: one node, two 1-CPU tasks, no GPUs (the script asks for 8).
ONE_NODE = ["--nodes=1", "--ntasks-per-node=2", "--cpus-per-task=1", "--gpus-per-node=0", "--time=20"]
UPDATES = 6


@pytest.fixture(scope="session")
def slurm():
    """Starts the one-machine Slurm unless one answers already; stops what it started."""
    if responds():
        yield
        return
    started = cluster("start")
    if started.returncode != 0:
        pytest.skip(f"no Slurm here: {(started.stderr or started.stdout).strip()}")
    yield
    cluster("stop")


def assert_two_ranks_all_reduced(log: str, ranks_log: str, updates: int):
    """Both tasks took their rank from Slurm, and rank 0 logged metrics summed over both."""
    for rank in (0, 1):  # logged by fairseq's Slurm set-up alone (_infer_slurm_init)
        assert re.search(rf"Rank {rank}, device_id: 0", ranks_log), ranks_log[-3000:]
        assert re.search(rf"initialized host \S+ as rank {rank}", ranks_log)
    assert re.findall(r"\[train_inner\].*num_updates=(\d+)", log)[-1] == str(updates)
    for lang in ("es", "fi", "sw"):
        assert re.search(rf"loss_{lang}=[\d.]+, accuracy_{lang}=[\d.]+, code_ppl_{lang}=[\d.]+", log)
    valid_sw = [line for line in log.splitlines() if "valid on 'valid_sw' subset" in line]
    assert valid_sw
    for line in valid_sw:  # as tests/test_distributed_e2e.py asserts for hand-started ranks
        values = dict(re.findall(r"\| (\w+) ([-\d.]+)", line))
        assert float(values["loss_sw"]) == pytest.approx(float(values["loss_0"]), abs=1.001e-3)
        assert float(values["nsentences"]) == 2  # one utterance per rank, summed


def test_submitit_launcher_trains_on_two_slurm_tasks(slurm, pretraining_data, tmp_path):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason="pip install -e '.[slurm]'")
    sweep = tmp_path / "sweep"
    command = [HYDRA_TRAIN, "-m", "--config-dir", os.path.join(ROOT, "config", "pretraining"),
               "--config-name", "xlsr_tiny", "hydra/launcher=submitit_slurm", "+run_config=slurm_cpu",
               f"hydra.sweep.dir={sweep}", f"common.user_dir={USER_DIR}", f"task.data={pretraining_data}",
               "optimization.max_update=4", "optimization.update_freq=[4]", *TINY]
    proc = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=one_thread_env(),
                          timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    task_logs = [read(path) for path in sorted(glob.glob(f"{sweep}/.submitit/*/*_[01]_log.*"))]
    assert len(task_logs) == 4  # out and err of tasks 0 and 1
    assert_two_ranks_all_reduced("".join(task_logs[:2]), "".join(task_logs), updates=4)
    assert "xlsr_plugin.slurm" in "".join(task_logs[2:])  # task 1 given device 0 on this CPU node
    checkpoint = f"{sweep}/0/checkpoints/checkpoint_last.pt"
    models, cfg, _ = checkpoint_utils.load_model_ensemble_and_task([checkpoint])
    assert isinstance(models[0], XlsrModel)
    assert cfg.distributed_training.distributed_world_size == 2
    assert checkpoint_utils.load_checkpoint_to_cpu(checkpoint)["optimizer_history"][-1]["num_updates"] == 4


def submit(data, run_dir) -> tuple:
    """sbatch of scripts/slurm/xlsr.sbatch (srun fairseq-hydra-train) on xlsr_tiny: (job, output)."""
    os.makedirs(run_dir, exist_ok=True)
    output = os.path.join(run_dir, "slurm.out")
    overrides = ["--config-dir", os.path.join(ROOT, "config", "pretraining"), "--config-name", "xlsr_tiny", f"common.user_dir={USER_DIR}", f"task.data={data}",
                 f"checkpoint.save_dir={run_dir}/checkpoints", f"optimization.max_update={UPDATES}",
                 "checkpoint.save_interval_updates=2", "checkpoint.keep_interval_updates=-1", *TINY, *CPU]
    job = sbatch(*ONE_NODE, f"--output={output}", SBATCH_SCRIPT, *overrides, cwd=run_dir, env=one_thread_env())
    return job, output


@pytest.fixture(scope="module")
def uninterrupted(slurm, pretraining_data, tmp_path_factory):
    run_dir = str(tmp_path_factory.mktemp("sbatch"))
    job, output = submit(pretraining_data, run_dir)
    assert wait_done(job) == "COMPLETED", read(output)[-4000:]
    return run_dir, read(output)


def test_sbatch_script_takes_ranks_from_slurm(uninterrupted):
    run_dir, log = uninterrupted
    assert "xlsr.sbatch: job" in log and "2 tasks, restart 0" in log
    assert_two_ranks_all_reduced(log, log, updates=UPDATES)
    assert re.search(r"distributed init \(rank 1\): tcp://\S+:\d+", log)
    assert sorted(train_losses(log)) == list(range(1, UPDATES + 1))


def test_preempted_job_requeues_itself_and_resumes(uninterrupted, pretraining_data, tmp_path):
    reference_dir, reference_log = uninterrupted
    job, output = submit(pretraining_data, str(tmp_path))
    wait_for(lambda: "Saved checkpoint" in read(output), "a first checkpoint")
    # The signal Slurm sends near the time limit (--signal=B:USR1@300): the script requeues its job.
    subprocess.run(["scancel", "--batch", "--signal=USR1", job], check=True)
    wait_for(lambda: state(job) == "PENDING", f"job {job} to be requeued (it was {state(job)})")
    # Slurm holds a requeued job back for two minutes (its begin time): let it start now.
    subprocess.run(["scontrol", "update", f"JobId={job}", "StartTime=now"], check=True)
    assert wait_done(job) == "COMPLETED", read(output)[-4000:]
    log = read(output)
    assert "time limit near, requeueing" in log and "restart 1" in log
    resumed_at = int(re.search(r"Loaded checkpoint \S+checkpoint_last\.pt \(epoch \d+ @ (\d+) updates\)",
                               log).group(1))
    assert 0 < resumed_at < UPDATES
    # Every update logged, before the preemption and after it, has the uninterrupted run's loss:
    # the resumed job saw the same batches; its final weights are the uninterrupted run's.
    reference = train_losses(reference_log)
    logged = re.findall(r"\[train_inner\].* loss=([\d.]+),.* num_updates=(\d+)", log)
    assert {int(update) for _, update in logged} == set(range(1, UPDATES + 1))
    assert all(loss == reference[int(update)] for loss, update in logged), (logged, reference)
    last = "checkpoints/checkpoint_last.pt"
    assert weight_differences(os.path.join(reference_dir, last), os.path.join(tmp_path, last)) == {}


@pytest.mark.parametrize("config, run_config, gpus", [("xlsr_base", "slurm_base", 64),
                                                      ("xlsr_53", "slurm_large", 128),
                                                      ("xlsr_large", "slurm_large", 128)])
def test_run_configs_give_the_configs_gpu_count(config, run_config, gpus):
    """nodes x tasks per node = the world size fairseq checks against Slurm = the paper's GPUs."""
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason="pip install -e '.[slurm]'")
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=os.path.join(ROOT, "config", "pretraining"), version_base=None):
        cfg = compose(config, overrides=["hydra/launcher=submitit_slurm", f"+run_config={run_config}"],
                      return_hydra_config=True)
    launcher = cfg.hydra.launcher
    assert launcher.nodes * launcher.tasks_per_node == cfg.distributed_training.distributed_world_size == gpus
    assert launcher.gpus_per_node == launcher.tasks_per_node == 8  # one task per GPU
    assert launcher.partition is None  # hydra.launcher.partition=P, or sbatch's own default
    assert cfg.distributed_training.distributed_port > 0  # fairseq takes ranks from Slurm only then
