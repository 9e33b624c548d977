"""The target dictionary a fine-tuned checkpoint was trained with, read before fairseq-generate
asks the task for it: generate keeps `task.target_dictionary` from before it loads the
checkpoint, and prints and scores with that one."""
import argparse
import pickle
from typing import Optional

import torch
from fairseq.data import Dictionary


def read_checkpoint(path: str) -> dict:
    """A checkpoint read as data: tensors, containers and the two classes fairseq checkpoints
    hold besides them (weights_only; memory-mapped where the file's format allows, so that
    its weights stay on disk). The one place this module reads a checkpoint."""
    # The context manager removes its classes on exit, even those allowed before it (the
    # plugin's package-wide allowance, which fairseq's own loader needs): add only the others.
    allowed = torch.serialization.get_safe_globals()
    with torch.serialization.safe_globals([c for c in (argparse.Namespace, Dictionary) if c not in allowed]):
        try:
            try:
                return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
            except RuntimeError as error:  # torch's legacy (pre-zip) format cannot be mapped
                if "mmap" not in str(error):
                    raise
                return torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as error:
            raise ValueError(f"{path} holds objects that torch.load(weights_only=True) refuses "
                             f"({error})") from error


def trained_dictionary(path: str) -> Optional[Dictionary]:
    """The `target_dictionary` of the checkpoint's task state; None where it has none (a
    pretraining checkpoint, or a task that keeps no dictionary)."""
    state = read_checkpoint(path)
    dictionary = (state.get("task_state") or {}).get("target_dictionary")
    return dictionary if isinstance(dictionary, Dictionary) else None
