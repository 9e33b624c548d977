"""What two fairseq runs are compared by: checkpoint weights and the losses of their logs."""
import os
import re
from typing import Dict

import torch


def one_thread_env(**extra) -> Dict[str, str]:
    """The environment of a training subprocess: one intra-op thread, because with several some
    of torch's CPU kernels sum in an order that varies from run to run (two 3-update xlsr_tiny
    runs on 2 threads end ~1e-9 apart), and the tests compare weights bit for bit."""
    return dict(os.environ, OMP_NUM_THREADS="1", **extra)


def weights(checkpoint: str) -> Dict[str, torch.Tensor]:
    return torch.load(checkpoint, map_location="cpu", weights_only=False)["model"]


def weight_differences(a: str, b: str) -> Dict[str, float]:
    """Largest absolute difference of each tensor that differs between two checkpoints."""
    first, second = weights(a), weights(b)
    assert first.keys() == second.keys()
    return {name: float((first[name].double() - second[name].double()).abs().max())
            for name in first if not torch.equal(first[name], second[name])}


def train_losses(log: str) -> Dict[int, str]:
    """Update number -> the loss its train_inner line printed (log_interval=1)."""
    return {int(update): loss for loss, update in
            re.findall(r"\[train_inner\].* loss=([\d.]+),.* num_updates=(\d+)", log)}
