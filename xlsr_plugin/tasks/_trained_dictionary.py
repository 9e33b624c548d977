"""The target dictionary a fine-tuned checkpoint was trained with, read before fairseq-generate
asks the task for it: generate keeps `task.target_dictionary` from before it loads the
checkpoint, and prints and scores with that one."""
from typing import Optional

from fairseq.data import Dictionary

from xlsr_plugin.checkpoint_loading import TRUST_FAIRSEQ, load_checkpoint


def trained_dictionary(path: str) -> Optional[Dictionary]:
    """The `target_dictionary` of the checkpoint's task state; None where it has none (a
    pretraining checkpoint, or a task that keeps no dictionary). Read under the loading policy,
    memory-mapped: its weights stay on disk."""
    state = load_checkpoint(path, opt_in=TRUST_FAIRSEQ, mmap=True)
    dictionary = (state.get("task_state") or {}).get("target_dictionary")
    return dictionary if isinstance(dictionary, Dictionary) else None
