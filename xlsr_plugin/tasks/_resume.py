"""Resuming from the newest checkpoint in save_dir that loads.

fairseq writes each checkpoint to a `.tmp` file and renames it, but then copies it to
checkpoint_last.pt (and checkpoint_best.pt) with a plain copy: a run killed during that copy
leaves a truncated checkpoint_last.pt, which the relaunched command fails to load. Before the
trainer reads checkpoint_last.pt, every checkpoint*.pt of save_dir is opened (its pickle and
zip directory; tensors are mapped, not read); those that do not load are renamed
`<name>.unreadable` (kept as evidence, never deleted), and the newest that loads (most updates;
checkpoint_last.pt on a tie) becomes checkpoint_last.pt. When none loads, the run stops rather
than start again from scratch.
"""
import logging
import os
import re
import shutil
from dataclasses import dataclass
from typing import List, Optional

from xlsr_plugin.checkpoint_loading import TRUST_FAIRSEQ, UntrustedCheckpoint, load_checkpoint

logger = logging.getLogger(__name__)

LAST = "checkpoint_last.pt"
CHECKPOINT_NAME = re.compile(r"checkpoint.*\.pt")  # every name fairseq's save_checkpoint writes


class ResumeError(RuntimeError):
    """Checkpoints in save_dir, none of which loads."""


@dataclass
class Saved:
    path: str
    updates: Optional[int] = None  # None: it does not load
    problem: str = ""

    @property
    def name(self) -> str:
        return os.path.basename(self.path)


def read_saved(path: str) -> Optional[Saved]:
    """How many updates the checkpoint holds, or why it does not load; None for a file that
    loads but is no training checkpoint (left alone). A file the loading policy refuses is an
    error, not a broken file."""
    try:
        state = load_checkpoint(path, opt_in=TRUST_FAIRSEQ, mmap=True)
    except UntrustedCheckpoint:
        raise
    except Exception as error:  # truncated, empty, not a zip
        first_line = (str(error).splitlines() or ["(no message)"])[0][:200]
        return Saved(path, problem=f"{type(error).__name__}: {first_line}")
    history = state.get("optimizer_history") if isinstance(state, dict) else None
    return Saved(path, int(history[-1].get("num_updates", 0))) if history else None


def saved_checkpoints(save_dir: str) -> List[Saved]:
    names = sorted(n for n in os.listdir(save_dir) if CHECKPOINT_NAME.fullmatch(n))
    saved = [read_saved(os.path.join(save_dir, name)) for name in names]
    return [s for s in saved if s is not None]


def set_aside(path: str) -> str:
    """Renames a checkpoint that does not load to a free `<path>.unreadable[N]`."""
    aside, n = path + ".unreadable", 1
    while os.path.exists(aside):
        aside, n = f"{path}.unreadable{n}", n + 1
    os.rename(path, aside)
    return aside


def copy_whole(source: str, destination: str) -> None:
    """A copy that a kill leaves whole or absent (fairseq's own copy is neither)."""
    tmp = destination + ".tmp"
    shutil.copyfile(source, tmp)
    os.replace(tmp, destination)


def prepare_resume(save_dir: str) -> Optional[Saved]:
    """Makes save_dir/checkpoint_last.pt the newest checkpoint that loads; returns it (None
    on a first launch)."""
    saved = saved_checkpoints(save_dir) if os.path.isdir(save_dir) else []
    if not saved:
        return None
    broken = [s for s in saved if s.updates is None]
    for s in broken:
        logger.warning("%s does not load (%s): kept as %s", s.path, s.problem, set_aside(s.path))
    loads = [s for s in saved if s.updates is not None]
    if not loads:
        raise ResumeError(
            f"{save_dir}: no checkpoint loads ({'; '.join(f'{s.name}: {s.problem}' for s in broken)}); "
            "they were renamed *.unreadable. Not starting again from scratch: to do that, point "
            "checkpoint.save_dir at an empty folder.")
    newest = max(loads, key=lambda s: (s.updates, s.name == LAST))
    last = os.path.join(save_dir, LAST)
    if newest.path != last:
        copy_whole(newest.path, last)
        logger.warning("resuming from %s (%d updates), copied to %s: %s", newest.path,
                       newest.updates, LAST, why_not_last(saved, newest))
    elif broken:
        logger.info("resuming from %s (%d updates)", last, newest.updates)
    return newest


def why_not_last(saved: List[Saved], newest: Saved) -> str:
    last = next((s for s in saved if s.name == LAST), None)
    if last is None:
        return f"there was no {LAST}"
    if last.updates is None:
        return f"{LAST} did not load ({last.problem})"
    return f"{LAST} held {last.updates} updates, {newest.name} {newest.updates}"
