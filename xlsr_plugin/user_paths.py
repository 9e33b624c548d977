"""Paths a user gives are relative to the folder the command was started from.

The configs keep Hydra there (`hydra.job.chdir: false`), as fairseq-train and fairseq-generate
never leave it; a run that lets Hydra change directory (`hydra.job.chdir=true`) still gets the
plugin's paths right, resolved as `hydra.utils.to_absolute_path` does. Absolute paths also make
every "not found" message name the file actually tried."""
import os
from typing import Optional

from omegaconf import OmegaConf


def started_from() -> str:
    """The folder the command was started from: Hydra's original one inside a Hydra job."""
    from hydra.core.hydra_config import HydraConfig

    return HydraConfig.get().runtime.cwd if HydraConfig.initialized() else os.getcwd()


def user_path(path: Optional[str]) -> Optional[str]:
    """`path` made absolute against the folder the command was started from (None, "" as is)."""
    if not path or os.path.isabs(path):
        return path
    return os.path.normpath(os.path.join(started_from(), os.path.expanduser(path)))


def resolve_user_paths(cfg, *keys: str) -> None:
    """Makes the given path fields of a task or model config absolute, in place (a field that is
    unset, or missing as in a checkpoint's config, is left alone)."""
    for key in keys:
        if not OmegaConf.is_config(cfg) or not OmegaConf.is_missing(cfg, key):
            value = getattr(cfg, key, None)
            if isinstance(value, str):
                setattr(cfg, key, user_path(value))
