"""The paper-style table (PER per language and average, per pretraining) as text, Markdown,
JSON and a bar chart; one table per training seed, and their mean ± standard deviation.

``collect`` builds one seed's table, ``aggregate`` any number of them (seeds, or the runs of a
study): every figure becomes a mean with its standard deviation and its per-seed values.
"""
import json
import math
import os
from typing import Callable, Dict, List, Optional, Sequence, Tuple

TITLE = "XLSR-10 in miniature"
ROWS = (("mono", "XLSR-Monolingual"), ("xlsr10", "XLSR-10"), ("none", "No pretraining"))
BASELINES = (("mono", "monolingual pretraining"), ("none", "no pretraining"))


def mean_std(values: Sequence[float]) -> Tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    n = len(values)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return round(mean, 2), round(std, 2)


def collect(per: Dict[str, Dict[str, Dict]], low: List[str]) -> Dict:
    """``per[model][lang]`` (``mono_<lang>`` models merged into one ``mono`` row) -> table.

    A row's ``avg`` is over the languages it has (``langs``); ``relative_reduction`` compares
    XLSR-10 with each baseline on the languages both have (like for like)."""
    rows = {key: {} for key, _ in ROWS}
    for model, by_lang in per.items():
        key = "mono" if model.startswith("mono_") else model
        rows[key].update(by_lang)
    table = {"langs": list(low), "rows": {}}
    for key, name in ROWS:
        cells = {lang: rows[key][lang] for lang in low if lang in rows[key]}
        table["rows"][key] = {"name": name, "langs": list(cells),
                              "per": {k: v["per"] for k, v in cells.items()},
                              "errors": {k: v["errors"] for k, v in cells.items()},
                              "units": {k: v["units"] for k, v in cells.items()},
                              "avg": _mean([v["per"] for v in cells.values()])}
    table["relative_reduction"] = {
        base: _reduction(table["rows"]["xlsr10"]["per"], table["rows"][base]["per"])
        for base, _ in BASELINES}
    return table


def _mean(values: List[float]) -> Optional[float]:
    return round(sum(values) / len(values), 2) if values else None


def _reduction(ours: Dict[str, float], base: Dict[str, float]) -> Optional[Dict]:
    """Relative reduction of the average PER, on the languages both rows have."""
    common = [lang for lang in ours if lang in base]
    if not common:
        return None
    a, b = _mean([ours[k] for k in common]), _mean([base[k] for k in common])
    return {"langs": common, "xlsr10": a, "baseline": b, "gap": round(b - a, 2),
            "percent": round(100 * (b - a) / b, 1) if b else None}


def aggregate_row(per_seed: Sequence[Dict]) -> Dict:
    """One row of several seeds' tables (each ``{"per": {column: PER}, "avg": PER or None}``)
    -> ``per`` (means), ``std`` and ``per_seed`` for every column of the first, and ``avg``,
    ``avg_std``, ``avg_per_seed`` over the seeds that have an average."""
    row = {"per": {}, "std": {}, "per_seed": {}}
    for column in per_seed[0]["per"]:
        values = [seed["per"][column] for seed in per_seed]
        row["per"][column], row["std"][column] = mean_std(values)
        row["per_seed"][column] = values
    avgs = [seed["avg"] for seed in per_seed if seed.get("avg") is not None]
    row["avg"], row["avg_std"] = mean_std(avgs) if avgs else (None, None)
    row["avg_per_seed"] = avgs
    return row


def aggregate(tables: Sequence[Dict], seeds: Sequence[int]) -> Dict:
    """Tables of several seeds -> one table of means, with ``std`` (standard deviation over
    the seeds) and ``per_seed`` beside every figure; ``order`` says in how many seeds XLSR-10
    beat each baseline and whether the mean gap exceeds its spread."""
    first = tables[0]
    out = {"langs": first["langs"], "seeds": list(seeds), "rows": {},
           "relative_reduction": {}, "order": {}}
    for key, name in ROWS:
        out["rows"][key] = {"name": name, "langs": first["rows"][key]["langs"],
                            **aggregate_row([t["rows"][key] for t in tables])}
    for base, _ in BASELINES:
        reds = [t["relative_reduction"][base] for t in tables]
        if not all(reds):
            out["relative_reduction"][base] = None
            continue
        merged = {"langs": reds[0]["langs"]}
        for field in ("xlsr10", "baseline", "gap", "percent"):
            values = [r[field] for r in reds]
            merged[field], merged[field + "_std"] = mean_std(values)
            merged[field + "_per_seed"] = values
        out["relative_reduction"][base] = merged
        out["order"][base] = {"better_in": sum(g > 0 for g in merged["gap_per_seed"]),
                              "seeds": len(reds),
                              "gap_exceeds_spread": merged["gap"] > merged["gap_std"]}
    return out


def fmt(value: Optional[float], std: Optional[float] = None, seeds: int = 1,
        digits: int = 1) -> str:
    """``12.3`` or ``12.3 ± 1.2`` (mean ± std over seeds); ``-`` for no value. Over several
    seeds a spread of 0 is shown too, so that it does not read as a single seed."""
    if value is None:
        return "-"
    shown = std is not None and (std or seeds > 1)
    return f"{value:.{digits}f} ± {std:.{digits}f}" if shown else f"{value:.{digits}f}"


def markdown(table: Dict) -> str:
    """The table (mean ± std when there are several seeds) and XLSR-10's gains, each on the
    languages both rows have."""
    langs = table["langs"]
    rows = []
    for key, _ in ROWS:
        row = table["rows"][key]
        rows.append((row["name"], row_cells(row, langs + ["avg"]) + [
            ", ".join(row["langs"]) or "-"]))
    lines = grid("model", langs + ["avg"], ["avg over"], rows) + [""]
    for base, name in BASELINES:
        red = table["relative_reduction"][base]
        if red and red["percent"] is not None:
            order = table.get("order", {}).get(base)
            seeds = order["seeds"] if order else 1
            line = (f"XLSR-10 vs {name} ({', '.join(red['langs'])}): average PER "
                    f"{fmt(red['baseline'], red.get('baseline_std'), seeds)} -> "
                    f"{fmt(red['xlsr10'], red.get('xlsr10_std'), seeds)}, relative reduction "
                    f"{red['percent']:+.1f}%")
            if order and order["seeds"] > 1:
                line += (f" (± {red['percent_std']:.1f}); better in {order['better_in']} of "
                         f"{order['seeds']} seeds, gap {red['gap']:.1f} ± {red['gap_std']:.1f} "
                         f"points")
            lines.append(line)
    if table.get("verdicts"):
        from examples.xlsr10_mini import verdicts

        lines += ["", "Verdicts:", ""] + verdicts.sentence(table["verdicts"]) + [""]
        lines.append(verdicts.markdown(table["verdicts"], len(table.get("seeds", [1])),
                                       table.get("finetune_seeds", 1)))
    accuracy = table.get("pretraining", {}).get("xlsr10")
    if accuracy and "accuracy" in accuracy["mean"]:
        per_lang = ", ".join(f"{k[len('accuracy_'):]} {v:.2f}"
                             for k, v in sorted(accuracy["mean"].items()) if k != "accuracy")
        lines.append(f"XLSR-10 pretraining, validation contrastive accuracy "
                     f"{_fmt_acc(accuracy, 'accuracy')} (per language: {per_lang})")
    return "\n".join(lines) + "\n"


def row_cells(row: Dict, columns: Sequence[str]) -> List[str]:
    """A table row's ``mean ± std`` cells; the column ``avg`` is the row's average."""
    std = row.get("std", {})
    seeds = max(map(len, row.get("per_seed", {}).values()), default=1)
    return [fmt(row["avg"], row.get("avg_std"), seeds) if col == "avg" else
            fmt(row["per"].get(col), std.get(col), seeds) for col in columns]


def grid(head: str, numeric: Sequence[str], text: Sequence[str],
         rows: Sequence[Tuple[str, List[str]]]) -> List[str]:
    """Markdown table lines: ``head`` over the row names, ``numeric`` columns right-aligned,
    then ``text`` columns; ``rows`` are (name, cells)."""
    lines = [f"| {head} | " + " | ".join(list(numeric) + list(text)) + " |",
             "| --- |" + " ---: |" * len(numeric) + " --- |" * len(text)]
    return lines + [f"| {name} | " + " | ".join(cells) + " |" for name, cells in rows]


def _fmt_acc(stats: Dict, key: str) -> str:
    return fmt(stats["mean"][key], stats["std"].get(key),
               len(stats.get("per_seed", {}).get(key, [])), digits=3)


def pretraining_accuracy(by_seed: Sequence[Dict[str, Dict[str, float]]]) -> Dict:
    """``by_seed[i][model]`` = the last validation's ``accuracy``, ``accuracy_<lang>`` ->
    ``{model: {"mean": {...}, "std": {...}, "per_seed": {...}}}``."""
    out = {}
    for model in by_seed[0]:
        keys = sorted(set.intersection(*(set(run.get(model, {})) for run in by_seed)))
        stats = {"mean": {}, "std": {}, "per_seed": {}}
        for key in keys:
            values = [run[model][key] for run in by_seed]
            stats["mean"][key], stats["std"][key] = mean_std(values)
            stats["per_seed"][key] = values
        out[model] = stats
    return out


def figure(width: float):
    """A matplotlib figure (Agg, no display) and its axes, 4 inches high."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, 4.0))


def save(fig, ax, title: str, seeds: int, path: str) -> None:
    """PER axis, ``title`` (with the seeds' mean ± std), legend; write ``path`` and close."""
    import matplotlib.pyplot as plt

    ax.set_ylabel("phone error rate (%)")
    ax.set_title(f"{title}: test PER (lower is better)"
                 + (f", mean ± std over {seeds} seeds" if seeds > 1 else ""), fontsize=10)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot(table: Dict, path: str, title: str = TITLE) -> None:
    """Bars per language and the average, with the seeds' standard deviation as error bars; a
    row's average is drawn only when it covers every language (like for like)."""
    groups = table["langs"] + ["avg"]
    fig, ax = figure(max(6.0, 1.6 * len(groups) + 2))
    width = 0.8 / len(ROWS)
    for i, (key, _) in enumerate(ROWS):
        row = table["rows"][key]
        complete = len(row["langs"]) == len(table["langs"])
        std = row.get("std", {})
        values = [(j, row["per"][g], std.get(g, 0)) if g != "avg" else
                  (j, row["avg"], row.get("avg_std") or 0)
                  for j, g in enumerate(groups)
                  if (g in row["per"]) or (g == "avg" and complete and row["avg"] is not None)]
        if not values:
            continue
        xs = [j + (i - 1) * width for j, _, _ in values]
        bars = ax.bar(xs, [v for _, v, _ in values], width, label=row["name"],
                      yerr=[e for _, _, e in values], capsize=3)
        ax.bar_label(bars, fmt="%.1f", fontsize=7)
    ax.set_xticks(range(len(groups)), groups)
    save(fig, ax, title, len(table.get("seeds", [1])), path)


def plot_lines(path: str, xs: Sequence[float], series: Dict[str, Tuple[List, List]],
               xlabel: str, title: str, seeds: int, log_x: bool = False,
               dashed: Sequence[str] = ()) -> None:
    """One line per ``series`` entry (label -> (means, stds) at ``xs``) with error bars; the
    labels in ``dashed`` (averages) drawn dashed."""
    fig, ax = figure(7.0)
    for label, (means, stds) in series.items():
        ax.errorbar(xs, means, yerr=stds, marker="o", capsize=3, label=label,
                    linestyle="--" if label in dashed else "-")
    if log_x:
        ax.set_xscale("log")
        ax.minorticks_off()  # only the measured amounts are labelled
    ax.set_xticks(list(xs), [f"{x:g}" for x in xs])
    ax.set_xlabel(xlabel)
    save(fig, ax, title, seeds, path)


def write(table: Dict, extra: Dict, out_dir: str, title: str = TITLE,
          text: Optional[str] = None, draw: Optional[Callable[[str], None]] = None
          ) -> Dict[str, str]:
    """results.md (``text``, default the demo's ``markdown``), results.json, results.png
    (``draw(path)``, default the demo's bars) in ``out_dir``; returns their paths."""
    os.makedirs(out_dir, exist_ok=True)
    paths = {k: os.path.join(out_dir, f"results.{k}") for k in ("md", "json", "png")}
    with open(paths["md"], "w", encoding="utf-8") as f:
        f.write(f"# {title}: phone error rate (%) on the test sets\n\n")
        f.write(markdown(table) if text is None else text)
    with open(paths["json"], "w", encoding="utf-8") as f:
        json.dump({**table, **extra}, f, indent=1)
    (draw or (lambda path: plot(table, path, title)))(paths["png"])
    return paths
