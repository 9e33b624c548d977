"""How every entry point reads a checkpoint: as data, never as code.

A checkpoint is read with torch.load(weights_only=True) and an allow-list of the two classes
that real fairseq checkpoints hold besides tensors and containers: argparse.Namespace (the
`args` of the argparse-era releases such as wav2vec_small.pt, and the `w2v_args` of models
fine-tuned from them) and fairseq's Dictionary (the target dictionary a fine-tuning task
stores). A file that needs anything else is refused, naming what it holds and the opt-in:
--trust-checkpoint for the plugin's CLIs, TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 (which torch
itself honours for fairseq's own loads) for fairseq's. The opt-in unpickles the whole file,
which runs any code it holds.
"""
import argparse
import contextlib
import logging
import os
import pickle
import re
import zipfile
from typing import List

import torch

logger = logging.getLogger(__name__)

TRUST_ENV = "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"
TRUST_FLAG = "rerun with --trust-checkpoint"
TRUST_FAIRSEQ = f"rerun with {TRUST_ENV}=1 in the environment"
TRUST_HELP = ("load a checkpoint that holds classes besides tensors, containers, argparse.Namespace "
              "and fairseq's Dictionary as a full pickle, which runs any code it holds: only for a "
              "file whose origin you trust (default: refused)")


class UntrustedCheckpoint(ValueError):
    """A checkpoint holding a class outside the allow-list: refused before anything ran."""

    def __init__(self, path: str, names: List[str], opt_in: str):
        self.path, self.names = path, names
        super().__init__(
            f"{path}: refused: it holds {', '.join(names)}, which a checkpoint of weights and "
            "configs never needs (allowed: tensors, containers, argparse.Namespace, fairseq's "
            "Dictionary); nothing from it was run. Only if you trust where the file comes from, "
            f"{opt_in}: the file is then unpickled whole, which runs any code it holds.")


def allowed_classes() -> list:
    from fairseq.data import Dictionary

    return [argparse.Namespace, Dictionary]


def trusted_by_environment() -> bool:
    """torch's own opt-in (it reads the same values)."""
    return os.environ.get(TRUST_ENV, "0").lower() in ("1", "y", "yes", "true")


@contextlib.contextmanager
def checkpoint_classes():
    """The allow-list for the torch.load calls inside the block, fairseq's included."""
    with torch.serialization.safe_globals(allowed_classes()):
        yield


def allow_checkpoint_classes_in_this_process() -> None:
    """For fairseq's own torch.load calls (trainer, w2v_path, fairseq-generate): called where
    the plugin's task is set up, so only processes that run the plugin's tasks get it."""
    torch.serialization.add_safe_globals(allowed_classes())


def unsafe_globals(path: str, error: Exception) -> List[str]:
    """What the file holds outside the allow-list, read statically (nothing runs); for an old
    non-zip file, what torch's refusal names."""
    try:
        with checkpoint_classes():
            return sorted(torch.serialization.get_unsafe_globals_in_checkpoint(path))
    except (ValueError, RuntimeError):
        return re.findall(r"GLOBAL (\S+) was not an allowed global", str(error))


def load_checkpoint(path: str, trust: bool = False, opt_in: str = TRUST_FLAG,
                    mmap: bool = False) -> dict:
    """The checkpoint's state on the CPU, read under the policy (UntrustedCheckpoint when it
    holds anything else). `mmap` maps the tensors instead of reading them (zip files)."""
    mmap = mmap and is_zip_checkpoint(path)
    if trust or trusted_by_environment():
        logger.warning("%s: loaded as a full pickle (opted in): it could run code", path)
        return torch.load(path, map_location="cpu", weights_only=False, mmap=mmap)
    with checkpoint_classes():
        try:
            return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
        except pickle.UnpicklingError as error:
            names = unsafe_globals(path, error)
            if not names:
                raise
            raise UntrustedCheckpoint(path, names, opt_in) from None


def is_zip_checkpoint(path: str) -> bool:
    """torch.save's format since torch 1.6 (older files are one pickle stream)."""
    return zipfile.is_zipfile(path)


def check_checkpoint(path: str, trust: bool = False, opt_in: str = TRUST_FAIRSEQ) -> None:
    """Refuses, before fairseq's own loader reads it, a file the policy would refuse (cheap for
    zip files: their tensors are mapped, not read). Nothing to check once opted in."""
    if not (trust or trusted_by_environment()):
        load_checkpoint(path, opt_in=opt_in, mmap=True)


@contextlib.contextmanager
def fairseq_loads(trust: bool = False):
    """fairseq's own torch.load calls in the block (they leave weights_only to torch's default)
    under the policy, or, trusted, as full pickles through torch's own opt-in."""
    if not trust:
        with checkpoint_classes():
            yield
        return
    saved = os.environ.get(TRUST_ENV)
    os.environ[TRUST_ENV] = "1"
    try:
        yield
    finally:
        if saved is None:
            del os.environ[TRUST_ENV]
        else:
            os.environ[TRUST_ENV] = saved
