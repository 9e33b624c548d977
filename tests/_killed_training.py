"""fairseq-hydra-train that kills itself with SIGKILL at one point of the training loop, as a
preemption, the OOM killer or a node reboot would: XLSR_KILL_AT=<point>@<update>, the point one
of
  update     update <update> has run its forward and backward, not its optimizer step
  valid      the validation after update <update> has begun
  write      half of the checkpoint of update <update> is written (to fairseq's .tmp file)
  copy_best  half of fairseq's copy of that checkpoint to checkpoint_best.pt is written
  copy_last  half of its copy to checkpoint_last.pt is written
Unset, the stock entry point runs unchanged. Nothing here changes what a surviving run computes.
"""
import io
import os
import signal

from fairseq import checkpoint_utils
from fairseq.file_io import PathManager
from fairseq.trainer import Trainer
from fairseq_cli.hydra_train import cli_main

POINT, _, AT = os.environ.get("XLSR_KILL_AT", "").partition("@")
saving = {"updates": None}  # the update count of the checkpoint being saved


def die_at(point: str, updates: int) -> bool:
    if point == POINT and updates == int(AT):
        os.kill(os.getpid(), signal.SIGKILL)
    return False


def write_half_and_die(data: bytes, f) -> None:
    f.write(data[: len(data) // 2])
    f.flush()
    os.fsync(f.fileno())
    os.kill(os.getpid(), signal.SIGKILL)


def killing_update(train_step):
    def wrapped(self, samples, raise_oom=False):
        task_step = self.task.train_step

        def step(sample, model, criterion, optimizer, update_num, *args, **kwargs):
            result = task_step(sample, model, criterion, optimizer, update_num, *args, **kwargs)
            die_at("update", update_num + 1)
            return result

        self.task.train_step = step
        try:
            return train_step(self, samples, raise_oom)
        finally:
            del self.task.train_step
    return wrapped


def killing_valid(valid_step):
    def wrapped(self, sample, raise_oom=False):
        die_at("valid", self.get_num_updates())
        return valid_step(self, sample, raise_oom)
    return wrapped


def killing_write(persistent_save):
    def wrapped(obj, f):
        saving["updates"] = obj["optimizer_history"][-1]["num_updates"]
        if POINT == "write" and saving["updates"] == int(AT):
            buffer = io.BytesIO()
            persistent_save(obj, buffer)
            write_half_and_die(buffer.getvalue(), f)
        return persistent_save(obj, f)
    return wrapped


def killing_copy(copy):
    def wrapped(src, dst, overwrite=False):
        point = {"checkpoint_best.pt": "copy_best", "checkpoint_last.pt": "copy_last"}.get(os.path.basename(dst))
        if point == POINT and saving["updates"] == int(AT):
            with open(src, "rb") as source, open(dst, "wb") as f:
                write_half_and_die(source.read(), f)
        return copy(src, dst, overwrite)
    return wrapped


if POINT:
    Trainer.train_step = killing_update(Trainer.train_step)
    Trainer.valid_step = killing_valid(Trainer.valid_step)
    checkpoint_utils._torch_persistent_save = killing_write(checkpoint_utils._torch_persistent_save)
    PathManager.copy = staticmethod(killing_copy(PathManager.copy))

if __name__ == "__main__":
    cli_main()
