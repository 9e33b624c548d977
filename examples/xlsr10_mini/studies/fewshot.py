"""Few-shot labels (Conneau et al. 2020, §5.3, MLS: XLSR-53's gain over a model pretrained on
English alone is largest with 1 hour of labels and shrinks with 10 h, 100 h and the full set).

Three pretrained models, all the demo's runs on its corpus: XLSR-10, a monolingual model of one
high-resource language (``--single-lang``, fr by default) and no pretraining, each fine-tuned
on every ``--low-resource-langs`` language with each ``--label-minutes`` amount of labels.

The paper's single-language model is XLSR-English, pretrained on LibriVox English. Its
analogue here is one of XLSR-10's own high-resource languages rather than an ``en`` corpus
outside the ten: it is pretrained on exactly the audio that language contributes to XLSR-10
(the demo's corpus, no new synthesis), so the comparison isolates what the other nine add.
French by default as the paper's largest Common Voice language. Unlike LibriVox, which holds
more audio than XLSR-53's whole set, it has a sixth of XLSR-10's.

The label subsets are the manifests' few-shot subsets (``xlsr_plugin/preparation/fewshot.py``):
drawn speaker-balanced from one seeded order, so the smaller sets are inside the larger ones. They
are written for the fine-tuned languages into the study's own ``data/``.

    python -m examples.xlsr10_mini.studies.fewshot --seeds 3
"""
import os
import sys
from dataclasses import dataclass
from typing import Callable, Dict, List, Tuple

from examples.xlsr10_mini import corpus, pretrain, results
from examples.xlsr10_mini.finetune import FineTuning
from examples.xlsr10_mini.settings import split
from examples.xlsr10_mini.studies.common import Study, StudySettings, main, pretraining_accuracy
from xlsr_plugin.data.manifests import read_manifest
from xlsr_plugin.preparation.conversion import RATE
from xlsr_plugin.preparation.fewshot import fewshot_name

TITLE = "Few-shot labels in miniature"


@dataclass
class FewshotSettings(StudySettings):
    study = "fewshot"
    description = ("Few-shot labels in miniature: XLSR-10 vs a model pretrained on one "
                   "high-resource language vs no pretraining, with three amounts of labels.")

    out: str = "runs/study_fewshot"
    single_lang: str = "fr"
    label_minutes: str = "0.5,1,2"

    @classmethod
    def option_help(cls) -> Dict[str, str]:
        return {**super().option_help(),
                "single_lang": "the high-resource language of the single-language model "
                               "(the paper's XLSR-English)",
                "label_minutes": "labelled minutes per language of each fine-tuning, "
                                 "comma-separated (nested subsets of the train split)"}

    @property
    def minutes(self) -> List[float]:
        return sorted(float(m) for m in split(self.label_minutes))

    def check(self) -> None:
        super().check()
        if self.single_lang not in self.langs or self.single_lang in self.low:
            raise ValueError(f"--single-lang {self.single_lang!r}: must be an XLSR-10 "
                             f"language that is not fine-tuned ({self.low})")
        if not self.minutes or min(self.minutes) <= 0:
            raise ValueError(f"--label-minutes must be positive, got {self.label_minutes!r}")


def subset(minutes: float) -> str:
    """The manifests' name of a few-shot subset: ``train_30s``, ``train_2min``."""
    return fewshot_name(minutes / 60)


def tag(minutes: float) -> str:
    """What a fine-tuning run's name adds for its subset: ``30s``, ``2min``."""
    return subset(minutes).split("_", 1)[1]


def read_subset(data: str, lang: str, name: str) -> List[Tuple[str, int]]:
    """(relative audio path, frames) of the manifest DATA/<lang>/<name>.tsv."""
    return read_manifest(os.path.join(data, lang, name + ".tsv"))[1]


def labelled_seconds(s: FewshotSettings) -> Dict[str, Dict[str, float]]:
    """Seconds of audio in each language's subsets (each exceeds its target by less than one
    utterance, or is the whole train split when that is smaller)."""
    return {lang: {subset(m): round(sum(f for _, f in read_subset(corpus.data_dir(s), lang,
                                                                  subset(m))) / RATE, 1)
                   for m in s.minutes} for lang in s.low}


def run(s: FewshotSettings, report: Callable[[str], None]) -> Dict:
    study = Study(s, report)
    base = study.base
    models = ["xlsr10", f"mono_{s.single_lang}", "none"]
    manifests = corpus.manifest_job(base, corpus.data_dir(s), s.low, s.minutes)
    runs = [FineTuning(model, lang, seed, base, corpus.data_dir(s), subset(m), manifests.params,
                       tag=tag(m))
            for seed in s.train_seeds for model in models for lang in s.low for m in s.minutes]
    study.pretrain([pretrain.pretrain_job(base, model, seed)
                    for seed in s.train_seeds for model in models])
    study.own.run_jobs("manifests", [manifests])
    pers = study.train(runs)
    tables = [seed_table(s, models, pers[seed], seed) for seed in s.train_seeds]
    names = row_names(s, models)
    table = {"langs": s.low, "minutes": s.minutes, "subsets": [subset(m) for m in s.minutes],
             "seeds": s.train_seeds, "labelled_seconds": labelled_seconds(s),
             "rows": {key: {"name": names[key],
                            **results.aggregate_row([t["rows"][key] for t in tables])}
                      for key in names},
             "per_seed": tables,
             "pretraining": pretraining_accuracy({m: base for m in models[:2]}, s.train_seeds)}
    table["files"] = study.write(table, TITLE, markdown(table), lambda path: plot(table, path))
    return table


def seed_table(s: FewshotSettings, models: List[str], per: Dict[str, Dict], seed: int) -> Dict:
    """One seed's PER of each model per subset (the average over the languages, and each
    language as ``<lang> <subset>``), and XLSR-10's gain in points over each baseline."""
    rows = {}
    for model in models:
        cells = {}
        for m in s.minutes:
            by_lang = {lang: per[f"{model}_{lang}_{tag(m)}"]["per"] for lang in s.low}
            cells[subset(m)] = results.mean_std(list(by_lang.values()))[0]
            cells.update({f"{lang} {subset(m)}": v for lang, v in by_lang.items()})
        rows[model] = {"per": cells, "avg": None}
    for model in models[1:]:
        rows[f"gain_{model}"] = {"per": {x: round(rows[model]["per"][x] - rows["xlsr10"]["per"][x],
                                                  2) for x in map(subset, s.minutes)},
                                 "avg": None}
    return {"seed": seed, "rows": rows}


def row_names(s: FewshotSettings, models: List[str]) -> Dict[str, str]:
    names = {"xlsr10": "XLSR-10", models[1]: f"XLSR-Monolingual ({s.single_lang})",
             "none": "No pretraining"}
    names.update({f"gain_{m}": "XLSR-10's gain over " + (
        "no pretraining" if m == "none" else names[m]) for m in models[1:]})
    return names


def markdown(table: Dict) -> str:
    """Average PER over the languages per amount of labels, XLSR-10's gains, then each
    language."""
    subsets = table["subsets"]
    heads = [f"{m:g} min" for m in table["minutes"]]
    rows = [(row["name"], results.row_cells(row, subsets)) for row in table["rows"].values()]
    lines = [f"Average over {', '.join(table['langs'])}:", ""]
    lines += results.grid("model", heads, [], rows) + ["", "Per language:", ""]
    rows = [(f"{row['name']}, {lang}", results.row_cells(row, [f"{lang} {x}" for x in subsets]))
            for key, row in table["rows"].items() if not key.startswith("gain_")
            for lang in table["langs"]]
    lines += results.grid("model, language", heads, [], rows)
    accuracy = {table["rows"][m]["name"]: stats["mean"]["accuracy"]
                for m, stats in table.get("pretraining", {}).items() if stats["mean"]}
    if accuracy:
        lines += ["", "Pretraining, validation contrastive accuracy: " + ", ".join(
            f"{name} {value:.3f}" for name, value in accuracy.items())]
    return "\n".join(lines) + "\n"


def plot(table: Dict, path: str) -> None:
    """Average PER against labelled minutes (log scale), one line per model."""
    series = {row["name"]: ([row["per"][x] for x in table["subsets"]],
                            [row["std"][x] for x in table["subsets"]])
              for key, row in table["rows"].items() if not key.startswith("gain_")}
    results.plot_lines(path, table["minutes"], series, "labelled minutes per language", TITLE,
                       len(table["seeds"]), log_x=True)


if __name__ == "__main__":
    sys.exit(main(FewshotSettings, run))
