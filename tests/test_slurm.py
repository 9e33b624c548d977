"""Pretraining launched through a real Slurm (scripts/slurm/local_cluster.sh, one machine):
Hydra's submitit launcher and the sbatch + srun script, each preempted once and coming back by
itself. Two 1-CPU tasks, gloo, xlsr_tiny; fairseq takes each task's rank from Slurm."""
import glob
import os
import re
import subprocess
import sys

import pytest
from fairseq import checkpoint_utils

from _pretraining_runs import ROOT, USER_DIR
from _run_outputs import one_thread_env, train_losses, weight_differences
from _slurm import SUBMITTED, cancel_submitted, cluster, read, responds, sbatch, state, wait_done, wait_for
from xlsr_plugin.models.xlsr import XlsrModel

HYDRA_TRAIN = os.path.join(os.path.dirname(sys.executable), "fairseq-hydra-train")
CONFIGS = os.path.join(ROOT, "config", "pretraining")
SBATCH_SCRIPT = os.path.join(ROOT, "scripts", "slurm", "xlsr.sbatch")
UPDATES = 10  # 8 left after the first checkpoint, when the tests preempt: seconds to signal in
LAST = os.path.join("checkpoints", "checkpoint_last.pt")


def training(data) -> list:
    """The overrides of every run here: UPDATES updates, 4 per epoch, a checkpoint every 2."""
    return [f"common.user_dir={USER_DIR}", f"task.data={data}", f"optimization.max_update={UPDATES}",
            "checkpoint.save_interval_updates=2", "checkpoint.keep_interval_updates=-1",
            "common.log_interval=1", "task.min_sample_size=4000", "dataset.max_tokens=80000",
            "dataset.validate_interval_updates=2", "dataset.valid_subset='valid,valid_sw'"]


# What run_config/slurm_cpu.yaml sets for the submitit launcher, given to the plain script by hand.
CPU = ["common.cpu=true", "distributed_training.distributed_backend=gloo",
       "distributed_training.ddp_backend=no_c10d"]
# The one-machine cluster's job: one node, two 1-CPU tasks, no GPUs (the script asks for 8).
ONE_NODE = ["--nodes=1", "--ntasks-per-node=2", "--cpus-per-task=1", "--gpus-per-node=0", "--time=20"]


@pytest.fixture(scope="session")
def slurm():
    """Starts the one-machine Slurm unless one answers already; stops what it started."""
    if responds():
        yield
        cancel_submitted()
        return
    started = cluster("start")
    if started.returncode != 0:
        pytest.skip(f"no Slurm here: {(started.stderr or started.stdout).strip()}")
    yield
    cluster("stop")


def submit(data, run_dir) -> tuple:
    """sbatch of scripts/slurm/xlsr.sbatch (srun fairseq-hydra-train) on xlsr_tiny: (job, output)."""
    output = os.path.join(run_dir, "slurm.out")
    arguments = ["--config-dir", CONFIGS, "--config-name", "xlsr_tiny", *training(data),
                 f"checkpoint.save_dir={run_dir}/checkpoints", *CPU]
    job = sbatch(*ONE_NODE, f"--output={output}", SBATCH_SCRIPT, *arguments, cwd=run_dir, env=one_thread_env())
    return job, output


@pytest.fixture(scope="module")
def uninterrupted(slurm, pretraining_data, tmp_path_factory):
    """(run folder, output) of the script's job run to its end."""
    run_dir = str(tmp_path_factory.mktemp("sbatch"))
    job, output = submit(pretraining_data, run_dir)
    assert wait_done(job) == "COMPLETED", read(output)[-4000:]
    return run_dir, read(output)


def preempt(job: str, log, *scancel: str):
    """Signals the job once log() shows its first checkpoint; it requeues itself and starts
    again by itself (after the cluster's cred_expire, 15 s)."""
    wait_for(lambda: "Saved checkpoint" in log(), "a first checkpoint")
    subprocess.run(["scancel", *scancel, job], check=True)

    def requeued():
        assert state(job) != "COMPLETED", f"job {job} ended before it was signalled"
        return state(job) == "PENDING"

    wait_for(requeued, f"job {job} to be requeued")


def assert_two_ranks_all_reduced(log: str, ranks_log: str):
    """Both tasks took their rank from Slurm, and rank 0 logged metrics summed over both."""
    for rank in (0, 1):  # logged by fairseq's Slurm set-up alone (_infer_slurm_init)
        assert re.search(rf"Rank {rank}, device_id: 0", ranks_log), ranks_log[-3000:]
        assert re.search(rf"initialized host \S+ as rank {rank}", ranks_log)
    for lang in ("es", "fi", "sw"):
        assert re.search(rf"loss_{lang}=[\d.]+, accuracy_{lang}=[\d.]+, code_ppl_{lang}=[\d.]+", log)
    valid_sw = [line for line in log.splitlines() if "valid on 'valid_sw' subset" in line]
    assert valid_sw
    for line in valid_sw:  # as tests/test_distributed_e2e.py asserts for hand-started ranks
        values = dict(re.findall(r"\| (\w+) ([-\d.]+)", line))
        assert float(values["loss_sw"]) == pytest.approx(float(values["loss_0"]), abs=1.001e-3)
        assert float(values["nsentences"]) == 2  # one utterance per rank, summed


def assert_resumed_as_uninterrupted(log: str, checkpoint: str, uninterrupted):
    """Resumed from a checkpoint it saved; every update logged, before the preemption and after,
    has the uninterrupted run's loss (the same batches), and it ends with that run's weights."""
    reference_dir, reference_log = uninterrupted
    resumed_at = re.search(r"Loaded checkpoint \S+checkpoint_last\.pt \(epoch \d+ @ (\d+) updates\)", log)
    assert resumed_at and 0 < int(resumed_at.group(1)) < UPDATES, log[-4000:]
    reference = train_losses(reference_log)
    logged = re.findall(r"\[train_inner\].* loss=([\d.]+),.* num_updates=(\d+)", log)
    assert {int(update) for _, update in logged} == set(range(1, UPDATES + 1))
    assert all(loss == reference[int(update)] for loss, update in logged), (logged, reference)
    assert weight_differences(os.path.join(reference_dir, LAST), checkpoint) == {}


def test_sbatch_script_takes_ranks_from_slurm(uninterrupted):
    _, log = uninterrupted
    assert "xlsr.sbatch: job" in log and "2 tasks, restart 0" in log
    assert_two_ranks_all_reduced(log, log)
    assert re.search(r"distributed init \(rank 1\): tcp://\S+:\d+", log)
    assert sorted(train_losses(log)) == list(range(1, UPDATES + 1))


def test_sbatch_job_requeues_itself_near_its_time_limit(uninterrupted, pretraining_data, tmp_path):
    job, output = submit(pretraining_data, str(tmp_path))
    # The signal Slurm sends near the time limit (--signal=B:USR1@300): the script requeues its job.
    preempt(job, lambda: read(output), "--batch", "--signal=USR1")
    assert wait_done(job) == "COMPLETED", read(output)[-4000:]
    log = read(output)
    assert "time limit near, requeueing" in log and "restart 1" in log
    assert_resumed_as_uninterrupted(log, os.path.join(tmp_path, LAST), uninterrupted)


def test_submitit_job_trains_on_two_tasks_and_comes_back(uninterrupted, pretraining_data, tmp_path):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason="pip install -e '.[slurm]'")
    sweep, launcher_log = tmp_path / "sweep", tmp_path / "launcher.log"
    command = [HYDRA_TRAIN, "-m", "--config-dir", CONFIGS, "--config-name", "xlsr_tiny",
               "hydra/launcher=submitit_slurm", "+run_config=slurm_cpu", f"hydra.sweep.dir={sweep}",
               *training(pretraining_data)]
    with open(launcher_log, "w") as out:
        launcher = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path,
                                    env=one_thread_env())
        job = wait_for(lambda: [os.path.basename(p) for p in glob.glob(f"{sweep}/.submitit/[0-9]*")],
                       "the submission")[0]
        SUBMITTED.append(job)

        def task_log(task):
            return "".join(read(p) for p in sorted(glob.glob(f"{sweep}/.submitit/{job}/{job}_{task}_log.*")))

        # Slurm's preemption signal for submitit jobs (its --signal=USR2@120 near the time limit).
        preempt(job, lambda: task_log(0), "--signal=USR2")
        assert launcher.wait(timeout=600) == 0, read(launcher_log)[-4000:]
    assert wait_done(job) == "COMPLETED"  # the launcher returns on the results, before the job ends
    log = task_log(0)
    assert "this job is preempted" in log
    assert_two_ranks_all_reduced(log, log + task_log(1))
    assert "xlsr_plugin.slurm" in task_log(1)  # task 1 given device 0 on this CPU node
    checkpoint = os.path.join(sweep, "0", LAST)
    assert_resumed_as_uninterrupted(log, checkpoint, uninterrupted)
    models, cfg, _ = checkpoint_utils.load_model_ensemble_and_task([checkpoint])
    assert isinstance(models[0], XlsrModel) and cfg.distributed_training.distributed_world_size == 2


@pytest.mark.parametrize("config, run_config, gpus", [("xlsr_base", "slurm_base", 64),
                                                      ("xlsr_53", "slurm_large", 128),
                                                      ("xlsr_large", "slurm_large", 128)])
def test_run_configs_give_the_configs_gpu_count(config, run_config, gpus):
    """nodes x tasks per node = the world size fairseq checks against Slurm = the paper's GPUs."""
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason="pip install -e '.[slurm]'")
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=CONFIGS, version_base=None):
        cfg = compose(config, overrides=["hydra/launcher=submitit_slurm", f"+run_config={run_config}"],
                      return_hydra_config=True)
    launcher = cfg.hydra.launcher
    assert launcher.nodes * launcher.tasks_per_node == cfg.distributed_training.distributed_world_size == gpus
    assert launcher.gpus_per_node == launcher.tasks_per_node == 8  # one task per GPU
    assert launcher.partition is None  # hydra.launcher.partition=P, or sbatch's own default
    assert cfg.distributed_training.distributed_port > 0  # fairseq takes ranks from Slurm only then
