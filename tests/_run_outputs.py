"""What two fairseq runs are compared by: checkpoint weights and the losses of their logs."""
import re
from typing import Dict

import torch


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
