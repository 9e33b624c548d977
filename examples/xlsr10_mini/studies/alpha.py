"""Language sampling (Conneau et al. 2020, §3.2 and §5.2): p_l ∝ (n_l / N)^α; α = 0.5 helps
low-resource languages over α = 1 (the natural distribution) at a small cost on high-resource
ones, α = 0 samples every language alike.

XLSR-10 is pretrained on the demo's corpus with each ``--alphas`` value (same updates, same
seeds; the demo's own run is the one at ``--alpha``), then fine-tuned and tested on the
low-resource languages (``--low-resource-langs``) and on two high-resource ones
(``--high-langs``, their whole train split: a high-resource language has more labels too).
Each run's logged sampling plan (p_l per language) goes into results.json.

    python -m examples.xlsr10_mini.studies.alpha --seeds 3
"""
import sys
from dataclasses import dataclass
from typing import Callable, Dict, List

from examples.xlsr10_mini import corpus, pretrain, results
from examples.xlsr10_mini.finetune import FineTuning
from examples.xlsr10_mini.settings import split
from examples.xlsr10_mini.studies.common import Study, StudySettings, main, pretraining_accuracy

TITLE = "Language sampling in miniature"
NATURAL = 1.0  # α = 1: the natural distribution, the paper's reference


@dataclass
class AlphaSettings(StudySettings):
    study = "alpha"
    description = ("Language sampling in miniature: XLSR-10 pretrained with several exponents "
                   "alpha, PER on low- and high-resource languages.")

    out: str = "runs/study_alpha"
    alphas: str = "0,0.5,1"
    high_langs: str = "es,fr"

    @classmethod
    def option_help(cls) -> Dict[str, str]:
        return {**super().option_help(),
                "alphas": "sampling exponents of the XLSR-10 runs, comma-separated",
                "high_langs": "high-resource languages also fine-tuned and tested"}

    @property
    def alpha_values(self) -> List[float]:
        return [float(a) for a in split(self.alphas)]

    @property
    def high(self) -> List[str]:
        return split(self.high_langs)

    def check(self) -> None:
        super().check()
        if not self.alpha_values or any(a < 0 for a in self.alpha_values):
            raise ValueError(f"--alphas must be non-negative numbers, got {self.alphas!r}")
        wrong = sorted(set(self.high) - set(self.langs) | set(self.high) & set(self.low))
        if wrong:
            raise ValueError(f"--high-langs {wrong}: must be XLSR-10 languages that are not "
                             f"low-resource ({self.low})")


def column(kind: str) -> str:
    return f"{kind} avg"


def run(s: AlphaSettings, report: Callable[[str], None]) -> Dict:
    study = Study(s, report)
    base = study.base
    names = {a: pretrain.xlsr10_name(base, a) for a in s.alpha_values}
    runs = [FineTuning(names[a], lang, seed, base, corpus.data_dir(base),
                       corpus.finetune_subset(base))
            for seed in s.train_seeds for a in s.alpha_values for lang in s.low + s.high]
    study.pretrain([pretrain.pretrain_job(base, names[a], seed)
                    for seed in s.train_seeds for a in s.alpha_values])
    pers = study.train(runs)
    tables = [seed_table(s, base, names, pers[seed], seed) for seed in s.train_seeds]
    table = {"langs": s.low + s.high, "low": s.low, "high": s.high, "seeds": s.train_seeds,
             "rows": {name: {"alpha": a, **results.aggregate_row([t["rows"][name]
                                                                  for t in tables])}
                      for a, name in names.items()},
             "per_seed": tables,
             "pretraining": pretraining_accuracy({n: base for n in names.values()},
                                                 s.train_seeds)}
    if NATURAL in names:
        table["gain_over_natural"] = {
            name: {"alpha": a, **results.aggregate_row([gain(t, names[NATURAL], name)
                                                        for t in tables])}
            for a, name in names.items() if a != NATURAL}
    table["files"] = study.write(table, TITLE, markdown(table),
                                 lambda path: plot(table, path))
    return table


def seed_table(s: AlphaSettings, base, names: Dict[float, str], per: Dict[str, Dict],
               seed: int) -> Dict:
    """One seed's PER per language and tier average for each α, with each run's logged
    sampling plan."""
    langs = s.low + s.high
    rows = {}
    for a, name in names.items():
        cells = {lang: per[f"{name}_{lang}"]["per"] for lang in langs}
        cells[column("low")] = results.mean_std([cells[x] for x in s.low])[0]
        cells[column("high")] = results.mean_std([cells[x] for x in s.high])[0]
        rows[name] = {"alpha": a, "per": cells,
                      "avg": results.mean_std([cells[x] for x in langs])[0],
                      "plan": pretrain.read_sampling_plan(base, name, seed)}
    return {"seed": seed, "rows": rows}


def gain(seed_table: Dict, reference: str, name: str) -> Dict:
    """Points of PER that run ``name`` gains over ``reference`` in one seed, per column."""
    ref, row = seed_table["rows"][reference], seed_table["rows"][name]
    return {"per": {k: round(ref["per"][k] - v, 2) for k, v in row["per"].items()},
            "avg": round(ref["avg"] - row["avg"], 2)}


def markdown(table: Dict) -> str:
    """PER per language, low/high-resource averages and the sampling share of each tier."""
    columns = table["langs"] + [column("low"), column("high"), "avg"]
    rows = [(f"α = {row['alpha']:g}", results.row_cells(row, columns))
            for row in table["rows"].values()]
    lines = results.grid("XLSR-10", columns, [], rows) + [""]
    if table.get("gain_over_natural"):
        rows = [(f"α = {row['alpha']:g}", results.row_cells(row, columns))
                for row in table["gain_over_natural"].values()]
        lines += [f"Points of PER gained over α = {NATURAL:g} (natural sampling; positive: "
                  f"lower PER):", ""] + results.grid("XLSR-10", columns, [], rows) + [""]
    for name, row in table["rows"].items():
        plan = table["per_seed"][0]["rows"][name]["plan"]
        share = {kind: sum(plan[x]["p"] for x in table[kind] if x in plan)
                 for kind in ("low", "high")}
        accuracy = table.get("pretraining", {}).get(name, {}).get("mean", {}).get("accuracy")
        if plan:
            lines.append(f"α = {row['alpha']:g}: pretraining sampled "
                         f"{', '.join(table['low'])} with p = {share['low']:.3f} together, "
                         f"{', '.join(table['high'])} with {share['high']:.3f} (seed "
                         f"{table['seeds'][0]}; p_l of every language in results.json)"
                         + (f"; validation contrastive accuracy {accuracy:.3f}"
                            if accuracy is not None else ""))
    return "\n".join(lines) + "\n"


def plot(table: Dict, path: str) -> None:
    """PER against α: one line per language and one per tier's average."""
    rows = list(table["rows"].values())
    series = {col: ([r["per"][col] for r in rows], [r["std"][col] for r in rows])
              for col in table["langs"] + [column("low"), column("high")]}
    results.plot_lines(path, [r["alpha"] for r in rows], series, "language sampling exponent α",
                       TITLE, len(table["seeds"]), dashed=[column("low"), column("high")])


if __name__ == "__main__":
    sys.exit(main(AlphaSettings, run))
