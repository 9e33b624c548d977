"""Few-shot subsets: speaker-balanced, seeded, nested (the 1 h set inside the 10 h set)."""
import random
from collections import defaultdict
from typing import Dict, List, Sequence, Tuple

from xlsr_plugin.preparation.conversion import RATE


# Units of a subset's name, largest first; milliseconds when no other says the target exactly.
_UNITS = (("h", 3600.0), ("min", 60.0), ("s", 1.0))


def fewshot_name(hours: float) -> str:
    """The name of a subset, saying its target: ``train_1h``, ``train_10h``, ``train_30min``,
    ``train_45s`` in the largest unit that holds the target as a whole number, else
    milliseconds (0.002 h = 7.2 s: ``train_7200ms``)."""
    if not hours > 0:
        raise ValueError(f"a few-shot size must be a positive number of hours, got {hours!r}")
    seconds = hours * 3600
    for unit, size in _UNITS:
        count = seconds / size
        if count >= 1 and abs(count - round(count)) <= 1e-6 * count:
            return f"train_{round(count)}{unit}"
    return f"train_{round(seconds * 1000)}ms"


def fewshot_names(hours: Sequence[float]) -> Dict[float, str]:
    """Target -> name for every size asked for; two sizes that would write one subset are an
    error naming both (the same size twice is one subset)."""
    names: Dict[float, str] = {}
    for h in sorted(set(hours)):
        name = fewshot_name(h)
        other = next((o for o, n in names.items() if n == name), None)
        if other is not None:
            raise ValueError(f"--fewshot-hours {other!r} and {h!r} would both be written as "
                             f"{name} (sizes are named to the millisecond): give sizes that "
                             f"differ by at least 1 ms")
        names[h] = name
    return names


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
