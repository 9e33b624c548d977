"""Running fairseq-hydra-train with xlsr_tiny from the tests."""
import os
import subprocess
import sys
from dataclasses import dataclass

from _run_outputs import one_thread_env

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
USER_DIR = os.path.join(ROOT, "xlsr_plugin")
RECORDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_record_batches.py")


@dataclass
class Run:
    save_dir: str
    log: str
    batches: str
    returncode: int = 0


def tiny_command(data, save_dir, run_dir, max_update, *overrides, entry=RECORDER,
                 config="xlsr_tiny"):
    """fairseq-hydra-train's command line (through `entry`, a wrapper of its entry point)."""
    return [
        sys.executable, entry,
        "--config-dir", os.path.join(ROOT, "config", "pretraining"), "--config-name", config,
        f"common.user_dir={USER_DIR}", f"task.data={data}", f"checkpoint.save_dir={save_dir}",
        f"hydra.run.dir={run_dir}/hydra", f"optimization.max_update={max_update}",
        "common.log_interval=1", "task.min_sample_size=4000", "dataset.max_tokens=80000",
        *overrides,
    ]


def train_tiny(data, run_dir, max_update, *overrides, record=False, check=True, config="xlsr_tiny") -> Run:
    """fairseq-hydra-train (its real entry point) on xlsr_tiny (or `config`); with `record`,
    every training batch's utterances are appended to run_dir/batches.txt; with `check`, a
    failed run raises."""
    run_dir = str(run_dir)
    os.makedirs(run_dir, exist_ok=True)
    save_dir = os.path.join(run_dir, "checkpoints")
    batches = os.path.join(run_dir, "batches.txt")
    command = tiny_command(data, save_dir, run_dir, max_update, *overrides, config=config)
    env = one_thread_env(XLSR_RECORD_BATCHES=batches if record else "")
    proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=run_dir)
    log = proc.stdout + proc.stderr
    if check and proc.returncode != 0:
        raise AssertionError(f"fairseq-hydra-train failed ({proc.returncode}):\n{log[-4000:]}")
    return Run(save_dir=save_dir, log=log, batches=batches, returncode=proc.returncode)
