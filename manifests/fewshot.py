"""Few-shot subsets: speaker-balanced, seeded, nested (the 1 h set inside the 10 h set)."""
import random
from collections import defaultdict
from typing import Dict, List, Sequence, Tuple

from manifests._common import RATE


def fewshot_name(hours: float) -> str:
    """``train_1h``, ``train_10h``; below an hour ``train_30min`` or ``train_45s``."""
    if hours >= 1 and float(hours).is_integer():
        return f"train_{int(hours)}h"
    minutes = hours * 60
    if minutes >= 1 and abs(minutes - round(minutes)) < 1e-9:
        return f"train_{round(minutes)}min"
    return f"train_{round(hours * 3600)}s"


def balanced_order(speakers: Sequence[str], seed: int) -> List[int]:
    """Row indices in draw order: speakers in a seeded order take turns, one utterance each,
    each speaker's utterances in a seeded order. Any prefix is speaker-balanced."""
    by_speaker = defaultdict(list)
    for i, spk in enumerate(speakers):
        by_speaker[spk].append(i)
    rng = random.Random(seed)
    order = sorted(by_speaker)
    rng.shuffle(order)
    queues = []
    for spk in order:
        rows = by_speaker[spk]
        rng.shuffle(rows)
        queues.append(rows)
    out = []
    for turn in range(max((len(q) for q in queues), default=0)):
        out.extend(q[turn] for q in queues if turn < len(q))
    return out


def nested_subsets(speakers: Sequence[str], frames: Sequence[int], hours: Sequence[float],
                   seed: int) -> Dict[float, Tuple[List[int], int]]:
    """For each target, (sorted row indices, frames): the shortest prefix of one balanced draw
    order reaching the target, so it exceeds it by less than one utterance and every smaller
    set is inside every larger one. A target above the whole of train gives all of train."""
    order = balanced_order(speakers, seed)
    out = {}
    for target in sorted(hours):
        goal, total, taken = target * 3600 * RATE, 0, []
        for i in order:
            if total >= goal:
                break
            taken.append(i)
            total += frames[i]
        out[target] = (sorted(taken), total)
    return out
