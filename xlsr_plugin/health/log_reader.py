"""The records of a finished or running fairseq training: its text log (log_format simple or
json; fairseq-train's `| INFO | train_inner |` lines or fairseq-hydra-train's
`[train_inner][INFO] -` lines) or its TensorBoard folder (common.tensorboard_logdir).

tqdm, the default log format on a terminal, prints the train_inner values on its progress bar,
not in the log: such logs hold only the end-of-epoch and validation lines."""
import ast
import json
import math
import os
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from xlsr_plugin.analysis.tensorboard_curves import read_scalars
from xlsr_plugin.health.records import Record

LINE = re.compile(r"\]\[(?P<tag>[\w.]+)\]\[[A-Z]+\] - (?P<msg>.*)$"  # fairseq-hydra-train
                  r"|\| [A-Z]+ \| (?P<tag2>[\w.]+) \| (?P<msg2>.*)$")  # fairseq-train
COMMAS = re.compile(r"(\w+)=([^,\s]+)")
MIN_LOSS_SCALE = re.compile(r"Minimum loss scale reached \(([^)]+)\)")


class LogError(ValueError):
    """A file or folder that holds no fairseq training metrics."""


@dataclass
class RunLog:
    """What a log holds: events in order, ("train" | "valid", Record), and the run's printed
    configuration (empty when the log has none)."""

    events: List[Tuple[str, Record]] = field(default_factory=list)
    config: Dict = field(default_factory=dict)


def number(text) -> Optional[float]:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def parse_stats(msg: str, tag: str) -> Dict[str, float]:
    """The metrics of one progress line: json, `key=value, ...` (train_inner) or
    `key value | ...` (end of epoch, validation)."""
    if msg.startswith("{"):
        items = json.loads(msg).items()
        items = ((k[len(tag) + 1:] if k.startswith(tag + "_") else k, v) for k, v in items)
    elif " | " in msg:
        items = (part.strip().rsplit(" ", 1) for part in msg.split(" | ") if " " in part.strip())
    else:
        items = COMMAS.findall(msg)
    values = ((k, number(v)) for k, v in items)
    return {k: v for k, v in values if v is not None}


class _BareNames(ast.NodeTransformer):
    """Choice values print unquoted (`'activation_fn': gelu`): read them as strings."""

    def visit_Name(self, node):
        return ast.copy_location(ast.Constant(node.id), node)


def config_dict(text: str) -> Dict:
    """The configuration fairseq's train.py prints at the start of a run."""
    return ast.literal_eval(_BareNames().visit(ast.parse(text.strip(), mode="eval")))


def read_text_log(path: str) -> RunLog:
    log = RunLog()
    with open(path, encoding="utf-8", errors="replace") as f:
        for line_number, line in enumerate(f, start=1):
            try:
                _read_line(line.rstrip("\n"), log)
            except (ValueError, SyntaxError) as error:
                raise LogError(f"{path}, line {line_number}: unreadable fairseq log line ({error})") from error
    return log


def _read_line(line: str, log: RunLog) -> None:
    last = max((record.update for _, record in log.events), default=0)
    if "gradients are Nan/Inf" in line and line.startswith("FloatingPointError"):
        log.events.append(("train", Record(last + 1, {"gnorm": math.nan})))
        return
    scale = MIN_LOSS_SCALE.search(line)
    if scale and "Error" in line:
        log.events.append(("train", Record(last + 1, {"min_loss_scale": float(scale.group(1))})))
        return
    match = LINE.search(line)
    if not match:
        return
    tag, msg = match.group("tag") or match.group("tag2"), match.group("msg") or match.group("msg2") or ""
    # its first key is the first config group composed: '_name' in stock fairseq, 'task' where
    # a config's defaults list a task-options file first
    if tag == "fairseq_cli.train" and msg.startswith("{'") and not log.config:
        log.config = config_dict(msg)
    elif tag == "train_inner" or "valid on '" in msg or (
            tag != "train" and msg.startswith("{") and f'"{tag}_num_updates"' in msg):
        values = parse_stats(msg, tag)
        if "num_updates" in values:
            phase = "train" if tag == "train_inner" else "valid"
            log.events.append((phase, Record(int(values["num_updates"]), values, "" if phase == "train" else tag)))


def read_tensorboard(folder: str) -> RunLog:
    """train_inner/ and valid*/ event folders (fairseq writes one per tag), steps = updates."""
    log = RunLog()
    for tag, curves in read_scalars(folder).items():
        phase = "train" if tag == "train_inner" else "valid" if tag.startswith("valid") else None
        if phase is None:
            continue
        steps: Dict[int, Dict[str, float]] = {}
        for key, points in curves.items():
            for step, value in points:
                steps.setdefault(step, {})[key] = value
        log.events += [(phase, Record(step, values, "" if phase == "train" else tag))
                       for step, values in sorted(steps.items())]
    log.events.sort(key=lambda event: (event[1].update, event[0] == "valid"))
    return log


def read_run(path: str) -> RunLog:
    if not os.path.exists(path):
        raise LogError(f"{path}: no such file or folder")
    try:
        log = read_tensorboard(path) if os.path.isdir(path) else read_text_log(path)
    except FileNotFoundError as error:  # a folder without event files
        raise LogError(str(error)) from error
    if not log.events:
        raise LogError(f"{path}: no fairseq train_inner or validation lines (or TensorBoard "
                       "train_inner/, valid/ folders) found")
    return log

