"""Capacity (Conneau et al. 2020, §5.1 and §5.3): XLSR-10 Large is ahead of XLSR-10 Base (average
PER 13.6 -> 12.2 on Common Voice), and languages that share a fixed capacity interfere, which a
larger model relieves.

XLSR-10 and monolingual models (only for the languages compared, ``--mono-langs``) are pretrained
on the demo's corpus at each Transformer size of ``--sizes`` (layers x dims, in xlsr_tiny's
proportions; same updates and seeds; the size of the demo's config is the demo's own run), then
fine-tuned and tested on ``--low-resource-langs``. For each size the study gives XLSR-10 minus
monolingual (PER points) with its paired-bootstrap interval over the test utterances and the
runs (pretraining seeds x fine-tuning seeds), and says whether the gap closes or crosses as the
model grows.

    python -m examples.xlsr10_mini.studies.capacity          # make study-capacity
"""
import os
import sys
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from examples.xlsr10_mini import corpus, finetune, pretrain, results, verdicts
from examples.xlsr10_mini.finetune import FineTuning
from examples.xlsr10_mini.settings import split
from examples.xlsr10_mini.studies.common import Study, StudySettings, main, pretraining_accuracy

TITLE = "Capacity in miniature"
# The Transformer of each demo config (config/pretraining/xlsr_tiny.yaml, preset/long.yaml):
# a study size equal to it is the demo's own run, reused.
CONFIG_SIZES = {"xlsr_mini": (2, 64), "xlsr_mini_long": (4, 128)}
Size = Tuple[int, int]


@dataclass
class CapacitySettings(StudySettings):
    study = "capacity"
    description = ("Capacity in miniature: the gap between XLSR-10 and monolingual pretraining "
                   "against the Transformer's size, with paired intervals.")

    out: str = "runs/study_capacity"
    sizes: str = "2x64,4x128,6x192"
    # One language keeps the study within 2 hours on 2 cores: each compared language adds a
    # monolingual pretraining per size and seed. tr: the narrowest fine-tuning spread of the
    # three in the demo, and the language of RESULTS.md's longer-pretraining probe.
    low_langs: str = "tr"
    mono_langs: str = "tr"
    seeds: int = 2
    finetune_seeds: int = 2

    @classmethod
    def option_help(cls) -> Dict[str, str]:
        return {**super().option_help(),
                "sizes": "Transformer sizes, <layers>x<dims>, comma-separated, smallest first "
                         "(feed-forward 2 x dims, one attention head per 32 dims)"}

    @property
    def size_values(self) -> List[Size]:
        return [parse_size(text) for text in split(self.sizes)]

    def check(self) -> None:
        super().check()
        sizes = self.size_values
        if len(sizes) < 2 or any(d % 32 for _, d in sizes):
            raise ValueError(f"--sizes needs at least two sizes with dims a multiple of 32, got "
                             f"{self.sizes!r}")
        if not set(self.mono) & set(self.low):
            raise ValueError(f"--mono-langs {self.mono} must share a language with "
                             f"--low-resource-langs {self.low}: that is the comparison")


def parse_size(text: str) -> Size:
    layers, _, dims = text.strip().partition("x")
    if not (layers.isdigit() and dims.isdigit()):
        raise ValueError(f"a size is <layers>x<dims>, e.g. 4x128; got {text!r}")
    return int(layers), int(dims)


def size_text(size: Size) -> str:
    return f"{size[0]}x{size[1]}"


def model_name(s: CapacitySettings, model: str, size: Size) -> str:
    """The pretraining run of ``model`` at ``size``: the demo's own at its config's size."""
    return model if CONFIG_SIZES.get(s.pretrain_config) == size else pretrain.sized_name(
        model, *size)


def size_of(s: CapacitySettings, name: str) -> Size:
    return pretrain.split_size(name)[1] or CONFIG_SIZES[s.pretrain_config]


def plan(s: CapacitySettings, base) -> Tuple[Dict[Tuple[Size, str], str], List[FineTuning]]:
    """(``{(size, model): run name}``, the fine-tunings): XLSR-10 on every compared language,
    each monolingual model on its own."""
    compared = [lang for lang in s.low if lang in s.mono]
    models = ["xlsr10"] + [f"mono_{lang}" for lang in compared]
    names = {(size, m): model_name(s, m, size) for size in s.size_values for m in models}
    runs = [FineTuning(names[(size, m)], lang, seed, base, corpus.data_dir(base),
                       corpus.finetune_subset(base))
            for seed in s.train_seeds for size in s.size_values for m in models
            for lang in (compared if m == "xlsr10" else [m.split("_", 1)[1]])]
    return names, runs


def run(s: CapacitySettings, report: Callable[[str], None]) -> Dict:
    study = Study(s, report)
    base = study.base
    names, runs = plan(s, base)
    study.pretrain([pretrain.pretrain_job(base, name, seed)
                    for seed in s.train_seeds for name in names.values()])
    study.train(runs)
    runs = finetune.with_finetune_seeds(s, runs)
    accuracy = pretraining_accuracy({name: base for name in names.values()}, s.train_seeds)
    rows = [size_row(s, base, size, runs, names, accuracy) for size in s.size_values]
    table = {"langs": [lang for lang in s.low if lang in s.mono], "seeds": s.train_seeds,
             "finetune_seeds": s.finetune_seeds, "rows": rows, "finding": finding(rows),
             "pretraining": accuracy}
    table["files"] = study.write(table, TITLE, markdown(table), lambda path: plot(table, path))
    return table


def size_row(s: CapacitySettings, base, size: Size, runs: Sequence[FineTuning],
             names: Dict, accuracy: Dict) -> Dict:
    """One size: XLSR-10 against monolingual pretraining (``verdicts``), per language and over
    them, with the models' parameters and XLSR-10's last validation contrastive accuracy."""
    mine = [r for r in runs if size_of(s, r.model) == size]
    found = verdicts.verdicts(mine, lambda r: finetune.output_path(s, r),
                              baselines=[("mono", "monolingual pretraining")],
                              system=lambda model: verdicts.system(pretrain.split_size(model)[0]))
    overall = verdicts.overall(found, "mono")
    xlsr10 = names[(size, "xlsr10")]
    return {"size": size_text(size), "layers": size[0], "dims": size[1],
            "parameters": parameters(pretrain.checkpoint(base, xlsr10, s.train_seeds[0])),
            "xlsr10_accuracy": accuracy.get(xlsr10, {}).get("mean", {}).get("accuracy"),
            "overall": overall, "languages": [e for e in found if e is not overall]}


def parameters(checkpoint: str) -> Optional[int]:
    """Parameters of a pretrained model, counted in its checkpoint (None when it is missing)."""
    if not os.path.exists(checkpoint):
        return None
    from xlsr_plugin.checkpoint_loading import load_checkpoint

    state = load_checkpoint(checkpoint)
    return int(sum(t.numel() for t in state["model"].values()))


def finding(rows: Sequence[Dict]) -> str:
    """Whether the gap closes or crosses from the smallest size to the largest, in words, from
    each size's verdict."""
    words = [r["overall"]["verdict"].replace(" at this size", "") for r in rows]
    steps = ", ".join(f"{r['size']}: {r['overall']['difference']:+.1f} [{r['overall']['low']:+.1f}"
                      f", {r['overall']['high']:+.1f}]" for r in rows)
    first, last = rows[0]["size"], rows[-1]["size"]
    if len(set(words)) == 1:
        what = {"worse": f"XLSR-10 is worse than monolingual pretraining at every size from "
                         f"{first} to {last}: the gap does not close at these sizes",
                "better": f"XLSR-10 is better at every size from {first} to {last}",
                }.get(words[0], f"XLSR-10 and monolingual pretraining are not distinguishable at "
                                f"any size from {first} to {last}")
    elif words[-1] == "better":
        what = f"the gap crosses: XLSR-10 is {words[0]} at {first} and better at {last}"
    elif words[0] == "worse" and words[-1] != "worse":
        what = (f"the gap closes: XLSR-10 is worse at {first} and {words[-1]} at {last}; it "
                f"does not cross")
    else:
        what = "no trend with size: XLSR-10 is " + ", ".join(
            f"{w} at {r['size']}" for w, r in zip(words, rows))
    over = rows[0]["overall"]["language"]
    over = "all languages pooled" if over == "all" else over
    return f"{what} (XLSR-10 minus monolingual, PER points on {over}: {steps})."


def markdown(table: Dict) -> str:
    rows = table["rows"]
    runs = f"{len(table['seeds'])} pretraining x {table['finetune_seeds']} fine-tuning seeds"
    lines = [f"XLSR-10 against monolingual pretraining on {', '.join(table['langs'])} "
             f"({runs} per system and size): PER, XLSR-10 minus monolingual with its 95% "
             f"paired-bootstrap interval over the test utterances and the runs.", "",
             "| size (layers x dims) | parameters | XLSR-10 | monolingual | XLSR-10 - mono "
             "| 95% interval | P(XLSR-10 better) | XLSR-10 is | XLSR-10 accuracy |",
             "| --- | ---: | ---: | ---: | ---: | --- | ---: | --- | ---: |"]
    for r in rows:
        e = r["overall"]
        params = f"{r['parameters'] / 1e3:.0f}k" if r["parameters"] else "-"
        acc = f"{r['xlsr10_accuracy']:.3f}" if r["xlsr10_accuracy"] is not None else "-"
        lines.append(f"| {r['size']} | {params} | {e['rate_a']:.1f} | {e['rate_b']:.1f} | "
                     f"{e['difference']:+.1f} | [{e['low']:+.1f}, {e['high']:+.1f}] | "
                     f"{e['p_a_better']:.3f} | {e['verdict']} | {acc} |")
    if any(r["languages"] for r in rows):
        lines += ["", "Per language:", "", "| size | language | XLSR-10 | monolingual "
                  "| XLSR-10 - mono | 95% interval | XLSR-10 is |",
                  "| --- | --- | ---: | ---: | ---: | --- | --- |"]
        for r in rows:
            for e in r["languages"]:
                lines.append(f"| {r['size']} | {e['language']} | {e['rate_a']:.1f} | "
                             f"{e['rate_b']:.1f} | {e['difference']:+.1f} | "
                             f"[{e['low']:+.1f}, {e['high']:+.1f}] | {e['verdict']} |")
    lines += ["", f"Finding: {table['finding']}"]
    return "\n".join(lines) + "\n"


def plot(table: Dict, path: str) -> None:
    """XLSR-10 minus monolingual against size, with the 95% intervals; 0 dashed."""
    fig, ax = results.figure(7.0)
    import matplotlib.pyplot as plt  # after results.figure, which chooses the Agg backend

    rows = table["rows"]
    xs = list(range(len(rows)))
    gaps = [r["overall"]["difference"] for r in rows]
    errors = [[g - r["overall"]["low"] for g, r in zip(gaps, rows)],
              [r["overall"]["high"] - g for g, r in zip(gaps, rows)]]
    ax.errorbar(xs, gaps, yerr=errors, marker="o", capsize=4, label="XLSR-10 - monolingual")
    ax.axhline(0, color="gray", linestyle="--", linewidth=1)
    ax.set_xticks(xs, [r["size"] for r in rows])
    ax.set_xlabel("Transformer size (layers x dims)")
    ax.set_ylabel("PER difference (points; below 0: XLSR-10 better)")
    ax.set_title(f"{TITLE}: 95% paired intervals", fontsize=10)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main(CapacitySettings, run))
