"""How every entry point reads a checkpoint: as data, never as code.

A checkpoint is read with torch.load(weights_only=True) and an allow-list of the two classes
that real fairseq checkpoints hold besides tensors and containers: argparse.Namespace (the
`args` of the argparse-era releases such as wav2vec_small.pt, and the `w2v_args` of models
fine-tuned from them) and fairseq's Dictionary (the target dictionary a fine-tuning task
stores). Config fields that fairseq evals (conv_feature_layers) must be layer specifications:
numbers, lists, tuples, + and *. A file that needs anything else is refused, naming what it
holds and the opt-in: --trust-checkpoint for the plugin's CLIs, TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1
(which torch itself honours for fairseq's own loads) for fairseq's. The opt-in unpickles the
whole file, which runs any code it holds.
"""
import argparse
import contextlib
import logging
import os
import pickle
import re
import zipfile
from typing import Iterator, List, Tuple

import torch

from xlsr_plugin.layer_spec import LayerSpecError, parse_layer_spec

logger = logging.getLogger(__name__)

# Config fields that fairseq reads with eval() (models/wav2vec, data/audio/raw_audio_dataset.py).
EVALUATED_FIELDS = ("conv_feature_layers", "conv_aggregator_layers", "feature_encoder_spec")
TRUST_ENV = "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"
TRUST_FLAG = "rerun with --trust-checkpoint"
TRUST_FAIRSEQ = f"rerun with {TRUST_ENV}=1 in the environment"
TRUST_HELP = ("load a checkpoint that holds classes besides tensors, containers, argparse.Namespace "
              "and fairseq's Dictionary as a full pickle, which runs any code it holds: only for a "
              "file whose origin you trust (default: refused)")


class UntrustedCheckpoint(ValueError):
    """A checkpoint that could run code: refused before anything from it ran."""

    def __init__(self, path: str, what: str, opt_in: str):
        self.path = path
        super().__init__(
            f"{path}: refused: {what}; nothing from it was run. Only if you trust where the "
            f"file comes from, {opt_in}: the file is then read whole, and any code it holds runs.")


def holding(path: str, names: List[str], opt_in: str) -> UntrustedCheckpoint:
    return UntrustedCheckpoint(
        path, f"it holds {', '.join(names)}, which a checkpoint of weights and configs never "
        "needs (allowed: tensors, containers, argparse.Namespace, fairseq's Dictionary)", opt_in)


def allowed_classes() -> list:
    from fairseq.data import Dictionary

    return [argparse.Namespace, Dictionary]


def trusted_by_environment() -> bool:
    """torch's own opt-in (it reads the same values)."""
    return os.environ.get(TRUST_ENV, "0").lower() in ("1", "y", "yes", "true")


@contextlib.contextmanager
def checkpoint_classes():
    """The allow-list for the torch.load calls inside the block, fairseq's included. (torch's
    context removes its classes on exit: those registered for the whole process stay out of it.)"""
    registered = torch.serialization.get_safe_globals()
    with torch.serialization.safe_globals([c for c in allowed_classes() if c not in registered]):
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
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
        except pickle.UnpicklingError as error:
            names = unsafe_globals(path, error)
            if not names:
                raise
            raise holding(path, names, opt_in) from None
    check_evaluated_fields(path, state, opt_in)
    return state


def evaluated_fields(value, where: str = "") -> Iterator[Tuple[str, str]]:
    """(name, text) of every field of a checkpoint's config that fairseq evals."""
    if isinstance(value, argparse.Namespace):
        value = vars(value)
    if isinstance(value, dict):
        for key, item in value.items():
            if key in EVALUATED_FIELDS and isinstance(item, str) and not item.startswith("${"):
                yield f"{where}{key}", item
            else:
                yield from evaluated_fields(item, f"{where}{key}.")
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from evaluated_fields(item, where)


def check_evaluated_fields(path: str, state, opt_in: str) -> None:
    """fairseq builds a model with eval(cfg.conv_feature_layers): such a field must be data."""
    if not isinstance(state, dict):
        return
    for name, text in evaluated_fields({"cfg": state.get("cfg"), "args": state.get("args")}):
        try:
            parse_layer_spec(text)
        except LayerSpecError:
            raise UntrustedCheckpoint(
                path, f"its {name} is {text[:200]!r}, which fairseq evaluates as Python when it "
                "builds the model and which is not a layer specification (numbers, lists, "
                "tuples, + and *)", opt_in) from None


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
