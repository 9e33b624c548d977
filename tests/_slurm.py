"""The one-machine Slurm of scripts/slurm/local_cluster.sh, driven from the tests."""
import os
import re
import subprocess
import time

from _pretraining_runs import ROOT

CLUSTER = os.path.join(ROOT, "scripts", "slurm", "local_cluster.sh")


def responds() -> bool:
    """A Slurm controller answers on this machine."""
    try:
        return subprocess.run(["sinfo"], capture_output=True, timeout=20).returncode == 0
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return False


def cluster(command: str) -> subprocess.CompletedProcess:
    return subprocess.run([CLUSTER, command], capture_output=True, text=True, timeout=120)


SUBMITTED = []  # jobs of these tests, cancelled at the end whatever became of them


def sbatch(*args: str, cwd, env) -> str:
    """The job id of `sbatch --parsable ARGS`."""
    out = subprocess.run(["sbatch", "--parsable", *args], capture_output=True, text=True, cwd=cwd,
                         env=env, check=True).stdout
    SUBMITTED.append(out.strip().split(";")[0])
    return SUBMITTED[-1]


def cancel_submitted():
    if SUBMITTED:
        subprocess.run(["scancel", *SUBMITTED], capture_output=True)


# Reasons a job stays pending for good on this one-node cluster.
NEVER_STARTS = ("PartitionConfig", "PartitionNodeLimit", "BadConstraints", "ReqNodeNotAvail")


def state(job: str) -> str:
    """PENDING, RUNNING, COMPLETED, FAILED, ... (scontrol keeps a finished job for minutes)."""
    out = subprocess.run(["scontrol", "show", "job", job], capture_output=True, text=True).stdout
    reason = re.search(r"Reason=(\w+)", out).group(1)
    if reason in NEVER_STARTS:
        raise AssertionError(f"job {job} cannot start ({reason}):\n{out}")
    return re.search(r"JobState=(\w+)", out).group(1)


def wait_for(predicate, what: str, timeout: float = 600):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def wait_done(job: str) -> str:
    return wait_for(lambda: state(job) not in ("PENDING", "RUNNING", "CONFIGURING", "COMPLETING",
                                                "REQUEUED") and state(job), f"job {job} to end")


def read(path: str) -> str:
    if not os.path.exists(path):
        return ""
    with open(path, errors="replace") as f:
        return f.read()
