"""Checkpoints that run a command when read, as someone could publish them: the call at the top
level of the pickle (the issue's file), hidden inside a nested object, inside a `cfg` that looks
real, and as plain text in a config field that fairseq evals (conv_feature_layers). The command
creates a marker file: it exists afterwards exactly when the command ran."""
import argparse
import os

import torch


class Command:
    """Unpickling it runs `touch MARKER` (os.system, pickled as posix.system)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def top_level(path, marker, real_state):
    torch.save({"model": {}, "cfg": None, "args": None, "x": Command(marker)}, path)


def nested(path, marker, real_state):
    args = argparse.Namespace(arch="wav2vec2", extra=[{"layers": (1, Command(marker))}])
    torch.save({"model": real_state["model"], "cfg": None, "args": args}, path)


def in_real_cfg(path, marker, real_state):
    state = dict(real_state, cfg={**real_state["cfg"]})
    state["cfg"]["model"] = dict(state["cfg"]["model"], conv_bias=Command(marker))
    torch.save(state, path)


def evaluated_field(path, marker, real_state):
    state = dict(real_state, cfg={**real_state["cfg"]})
    layers = state["cfg"]["model"]["conv_feature_layers"]
    state["cfg"]["model"] = dict(state["cfg"]["model"], conv_feature_layers=(
        f"__import__('os').system('touch {marker}') and 0 or {layers}"))
    torch.save(state, path)


# each, with what the refusal says it holds
CRAFTED = {
    "top_level": (top_level, "it holds posix.system"),
    "nested": (nested, "it holds posix.system"),
    "in_real_cfg": (in_real_cfg, "it holds posix.system"),
    "evaluated_field": (evaluated_field, "its cfg.model.conv_feature_layers is \"__import__("),
}
