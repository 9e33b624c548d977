"""What the plugin's tasks do about checkpoints before fairseq reads any: the loading policy
for fairseq's own torch.load calls, the files checked against it first (for a message that
names the opt-in), and the resume from the newest checkpoint that loads."""
import os
from typing import List, Optional

import torch.distributed as dist

from xlsr_plugin.checkpoint_loading import (
    TRUST_FAIRSEQ,
    allow_checkpoint_classes_in_this_process,
    check_checkpoint,
    load_checkpoint,
)
from xlsr_plugin.models.architecture import check_same_flags
from xlsr_plugin.tasks._interpolated import configured
from xlsr_plugin.tasks._resume import LAST, prepare_resume


def existing_files(paths: Optional[str]) -> List[str]:
    """fairseq's --path: checkpoints separated by os.pathsep (an ensemble)."""
    return [p for p in (paths or "").split(os.pathsep) if os.path.isfile(p)]


# Models whose checkpoints' cfg.model holds every network flag of the model to train.
PRETRAINING_MODELS = ("xlsr", "wav2vec2")


def restored_checkpoint(save_dir: Optional[str], restore_file: Optional[str]) -> Optional[str]:
    """The file fairseq's trainer will load (checkpoint_utils.load_checkpoint), if any."""
    path = os.path.join(save_dir or "", LAST) if restore_file == LAST else restore_file
    return path if path and os.path.isfile(path) else None


def distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def first_rank() -> bool:
    return not distributed() or dist.get_rank() == 0


class CheckpointPolicyMixin:
    """For a task whose cfg reads save_dir, restore_file and eval_path from the checkpoint and
    common_eval groups; put it before the fairseq task among the bases."""

    @classmethod
    def setup_task(cls, cfg, **kwargs):
        allow_checkpoint_classes_in_this_process()  # for fairseq's own loads in this process
        if not kwargs.get("from_checkpoint"):  # fairseq-generate's --path, which fairseq reads next
            for path in existing_files(configured(cfg, "eval_path")):
                check_checkpoint(path)
        return super().setup_task(cfg, **kwargs)

    def build_model(self, model_cfg, from_checkpoint=False):
        # fairseq's train.py builds the model to train, then its trainer loads checkpoint_last.pt;
        # models read from checkpoints (fairseq-generate, w2v_path) come with from_checkpoint
        if not from_checkpoint:
            self.prepare_training_checkpoints(model_cfg)
        return super().build_model(model_cfg, from_checkpoint)

    def prepare_training_checkpoints(self, model_cfg) -> None:
        if first_rank():
            save_dir = configured(self.cfg, "save_dir")
            if save_dir and configured(self.cfg, "restore_file") == LAST:
                prepare_resume(save_dir)
            for path in existing_files(getattr(model_cfg, "w2v_path", None)):
                check_checkpoint(path)
        if distributed():  # the other ranks wait until checkpoint_last.pt is the one to load
            dist.barrier()
        self.check_restored_flags(model_cfg)

    def check_restored_flags(self, model_cfg) -> None:
        """A checkpoint of other network flags (continuing xlsr_53_56k.pt with another config)
        fails before fairseq loads it, naming each flag, shapes kept or not."""
        path = restored_checkpoint(configured(self.cfg, "save_dir"), configured(self.cfg, "restore_file"))
        if path is None or getattr(model_cfg, "_name", None) not in PRETRAINING_MODELS:
            return
        saved_cfg = load_checkpoint(path, opt_in=TRUST_FAIRSEQ, mmap=True).get("cfg") or {}
        if saved_cfg.get("model") is not None:
            check_same_flags(model_cfg, saved_cfg["model"])
