"""Task fields read from elsewhere in the configuration (`II("checkpoint.save_dir")`)."""
from typing import Any

from omegaconf.errors import OmegaConfBaseException


def configured(cfg, name: str) -> Any:
    """The field's value; None for a task config built without the rest of the configuration
    (nothing to resolve the interpolation from)."""
    try:
        value = getattr(cfg, name)
    except (AttributeError, OmegaConfBaseException):
        return None
    return None if str(value).startswith("${") else value
