"""Slurm tasks on nodes without GPUs (Hydra callback of config/pretraining/run_config/slurm_cpu.yaml).

fairseq 0.12 takes a Slurm task's SLURM_LOCALID as its CUDA device and selects that device even
with common.cpu=true (infer_init_method in fairseq/distributed/utils.py): the second task of a
CPU-only node fails with "Found no NVIDIA driver". A task without GPUs has one device, 0.
"""
import logging
import os

from hydra.experimental.callback import Callback

logger = logging.getLogger(__name__)


class CpuTaskDevice(Callback):
    def on_job_start(self, config, **kwargs) -> None:
        import torch

        if not torch.cuda.is_available() and os.environ.get("SLURM_LOCALID", "0") != "0":
            logger.info("no GPU: Slurm task %s uses device 0", os.environ["SLURM_LOCALID"])
            os.environ["SLURM_LOCALID"] = "0"
