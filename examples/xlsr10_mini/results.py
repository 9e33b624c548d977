"""The paper-style table (PER per language and average, per pretraining) as text, Markdown,
JSON and a bar chart."""
import json
import os
from typing import Dict, List, Optional

ROWS = (("mono", "XLSR-Monolingual"), ("xlsr10", "XLSR-10"), ("none", "No pretraining"))


def collect(per: Dict[str, Dict[str, Dict]], low: List[str]) -> Dict:
    """``per[model][lang]`` (``mono_<lang>`` models merged into one ``mono`` row) -> table."""
    rows = {key: {} for key, _ in ROWS}
    for model, by_lang in per.items():
        key = "mono" if model.startswith("mono_") else model
        rows[key].update(by_lang)
    table = {"langs": list(low), "rows": {}}
    for key, name in ROWS:
        cells = {lang: rows[key][lang] for lang in low if lang in rows[key]}
        table["rows"][key] = {"name": name, "per": {k: v["per"] for k, v in cells.items()},
                              "errors": {k: v["errors"] for k, v in cells.items()},
                              "units": {k: v["units"] for k, v in cells.items()},
                              "avg": _mean([v["per"] for v in cells.values()])}
    table["relative_reduction"] = {
        base: _reduction(table["rows"]["xlsr10"]["per"], table["rows"][base]["per"])
        for base in ("mono", "none")}
    return table


def _mean(values: List[float]) -> Optional[float]:
    return round(sum(values) / len(values), 2) if values else None


def _reduction(ours: Dict[str, float], base: Dict[str, float]) -> Optional[Dict]:
    """Relative reduction of the average PER, on the languages both rows have."""
    common = [lang for lang in ours if lang in base]
    if not common:
        return None
    a, b = _mean([ours[k] for k in common]), _mean([base[k] for k in common])
    return {"langs": common, "xlsr10": a, "baseline": b,
            "percent": round(100 * (b - a) / b, 1) if b else None}


def _fmt(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.1f}"


def markdown(table: Dict) -> str:
    langs = table["langs"]
    lines = ["| model | " + " | ".join(langs) + " | avg |",
             "| --- |" + " ---: |" * (len(langs) + 1)]
    for key, _ in ROWS:
        row = table["rows"][key]
        cells = [_fmt(row["per"].get(lang)) for lang in langs] + [_fmt(row["avg"])]
        lines.append(f"| {row['name']} | " + " | ".join(cells) + " |")
    lines.append("")
    for base, name in (("mono", "monolingual pretraining"), ("none", "no pretraining")):
        red = table["relative_reduction"][base]
        if red and red["percent"] is not None:
            lines.append(f"XLSR-10 vs {name} ({', '.join(red['langs'])}): average PER "
                         f"{red['baseline']:.1f} -> {red['xlsr10']:.1f}, relative reduction "
                         f"{red['percent']:+.1f}%")
    return "\n".join(lines) + "\n"


def plot(table: Dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = table["langs"] + ["avg"]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.6 * len(groups) + 2), 4.0))
    width = 0.8 / len(ROWS)
    for i, (key, _) in enumerate(ROWS):
        row = table["rows"][key]
        values = [row["per"].get(g) if g != "avg" else row["avg"] for g in groups]
        xs = [j + (i - 1) * width for j, v in enumerate(values) if v is not None]
        bars = ax.bar(xs, [v for v in values if v is not None], width, label=row["name"])
        ax.bar_label(bars, fmt="%.1f", fontsize=7)
    ax.set_xticks(range(len(groups)), groups)
    ax.set_ylabel("phone error rate (%)")
    ax.set_title("XLSR-10 in miniature: test PER (lower is better)", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write(table: Dict, extra: Dict, out_dir: str) -> Dict[str, str]:
    """results.md, results.json, results.png in ``out_dir``; returns their paths."""
    os.makedirs(out_dir, exist_ok=True)
    paths = {k: os.path.join(out_dir, f"results.{k}") for k in ("md", "json", "png")}
    with open(paths["md"], "w", encoding="utf-8") as f:
        f.write("# XLSR-10 in miniature: phone error rate (%) on the test sets\n\n")
        f.write(markdown(table))
    with open(paths["json"], "w", encoding="utf-8") as f:
        json.dump({**table, **extra}, f, indent=1)
    plot(table, paths["png"])
    return paths
