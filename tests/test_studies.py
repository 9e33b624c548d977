"""The four studies (examples/xlsr10_mini/studies) end to end at their smallest sizes, sharing
one demo folder as `make demo` and the studies do: the unseen languages stay out of XLSR-10's
data, the alpha values reach the pretraining runs' sampling plans, the few-shot subsets nest,
the capacity study's sizes reach the pretraining commands and its gaps are paired, and every
table is a mean ± std over seeds."""
import csv
import json
import math
import os
import subprocess
import sys
from collections import Counter

import pytest

from examples.xlsr10_mini import results
from examples.xlsr10_mini.finetune import per_of
from examples.xlsr10_mini.pretrain import pretrain_job, read_sampling_plan
from examples.xlsr10_mini.settings import parse
from examples.xlsr10_mini.studies import alpha, fewshot
from examples.xlsr10_mini.studies.unseen import UnseenSettings
from examples.xlsr10_mini.studies.alpha import AlphaSettings
from examples.xlsr10_mini.studies.capacity import CapacitySettings
from examples.xlsr10_mini.studies.fewshot import FewshotSettings, read_subset

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# tests/test_demo.py's SMALLEST: two training voices per low-resource language, one clip each,
# so that a few-shot subset has speakers to balance.
SMALLEST = ["--clips-high", "3", "--clips-mid", "3", "--clips-low", "2", "--speakers-high", "2",
            "--speakers-mid", "2", "--speakers-low", "2", "--test-clips-low", "6",
            "--dev-clips-low", "3", "--held-out-clips", "2", "--low-resource-langs", "ky",
            "--mono-langs", "ky", "--pretrain-updates", "3", "--finetune-updates", "3",
            "--jobs", "3", "--seeds", "1"]
TEN = ["es", "fr", "it", "ky", "nl", "ru", "sv", "tr", "tt", "zh"]


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory):
    return tmp_path_factory.mktemp("demo")


def study(name, out, demo_out, *args):
    proc = subprocess.run([sys.executable, "-m", f"examples.xlsr10_mini.studies.{name}",
                           "--out", str(out), "--demo-out", str(demo_out), *SMALLEST, *args],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for name in ("results.md", "results.json", "results.png"):
        assert (out / name).stat().st_size > 0, name
    return json.loads((out / "results.json").read_text()), proc.stdout


def command_line(log):
    with open(log, encoding="utf-8") as f:
        return f.readline()


def test_unseen_study(tmp_path, demo_out):
    table, _ = study("unseen", tmp_path, demo_out, "--unseen-langs", "pt")
    assert table["langs"] == ["pt"] and table["seeds"] == [1]
    for key in ("mono", "xlsr10", "none"):
        assert table["rows"][key]["langs"] == ["pt"] and table["rows"][key]["per"]["pt"] >= 0
        assert table["per_seed"][0]["rows"][key]["units"]["pt"] > 0
    assert "| XLSR-10 | " in (tmp_path / "results.md").read_text()
    accuracy = table["pretraining"]
    assert sorted(accuracy["xlsr10"]["mean"]) == ["accuracy"] + [f"accuracy_{x}" for x in TEN]
    assert 0 <= accuracy["mono_pt"]["mean"]["accuracy"] <= 1
    # pt never enters XLSR-10's data: not in the demo's DATA, not in task.langs, not sampled.
    assert sorted(p.name for p in (demo_out / "data").iterdir() if p.is_dir()) == TEN
    xlsr10 = command_line(demo_out / "logs" / "pretrain_xlsr10_s1.log")
    assert f"'++task.langs=[{','.join(TEN)}]'" in xlsr10 and f"task.data={demo_out}/data" in xlsr10
    assert sorted(read_sampling_plan(parse(["--out", str(demo_out)]), "xlsr10", 1)) == TEN
    # The monolingual model hears pt alone, from the study's own corpus; XLSR-10's fine-tuning
    # starts from the demo's checkpoint.
    mono = command_line(tmp_path / "logs" / "pretrain_mono_pt_s1.log")
    assert "'++task.langs=[pt]'" in mono and f"task.data={tmp_path}/data" in mono
    finetune = command_line(tmp_path / "logs" / "finetune_xlsr10_pt_s1.log")
    assert f"model.w2v_path={demo_out}/seed1/pretrain/xlsr10/checkpoints" in finetune


def finished(demo_out, *names):
    """Which seed-1 pretraining runs the demo folder holds already (the unseen study's, when
    the tests run in order): a study must reuse them, not train them again."""
    return {name: (demo_out / "markers" / f"pretrain_{name}_s1.completed").exists()
            for name in names}


def test_alpha_study(tmp_path, demo_out):
    done = finished(demo_out, "xlsr10")
    table, stdout = study("alpha", tmp_path, demo_out, "--alphas", "0.5,1", "--high-langs", "es")
    # XLSR-10 at alpha 0.5 is the demo folder's own run; alpha 1 gets one of its own there.
    assert not done["xlsr10"] or "pretrain_xlsr10_s1 started" not in stdout
    assert {"xlsr10", "xlsr10_alpha1"} <= {p.name for p in (demo_out / "seed1" / "pretrain")
                                           .iterdir()}
    assert not (demo_out / "seed1" / "pretrain" / "xlsr10_alpha0.5").exists()
    assert list(table["rows"]) == ["xlsr10", "xlsr10_alpha1"]
    assert [row["alpha"] for row in table["rows"].values()] == [0.5, 1.0]
    assert table["langs"] == ["ky", "es"]
    for row in table["rows"].values():
        assert sorted(row["per"]) == ["es", "high avg", "ky", "low avg"]
        assert row["per"]["low avg"] == row["per"]["ky"] and row["std"]["ky"] == 0
    # Each run's logged plan is the alpha asked for: p_l(0.5) ∝ sqrt(p_l(1)) (both ∝ n_l^alpha).
    plans = {row["alpha"]: seed_row["plan"] for seed_row, row in
             zip(table["per_seed"][0]["rows"].values(), table["rows"].values())}
    assert sorted(plans[1.0]) == TEN and sum(p["p"] for p in plans[1.0].values()) == \
        pytest.approx(1, abs=1e-3)
    norm = sum(math.sqrt(p["p"]) for p in plans[1.0].values())
    for lang in TEN:
        assert plans[0.5][lang]["p"] == pytest.approx(math.sqrt(plans[1.0][lang]["p"]) / norm,
                                                      abs=2e-3)
    most = max(TEN, key=lambda x: plans[1.0][x]["p"])
    least = min(TEN, key=lambda x: plans[1.0][x]["p"])
    assert plans[1.0][most]["p"] > plans[0.5][most]["p"] + 0.01
    assert plans[1.0][least]["p"] < plans[0.5][least]["p"] - 0.01
    # What α = 0.5 gains over natural sampling, per seed and column: PER(α=1) - PER(α=0.5).
    gain, rows = table["gain_over_natural"]["xlsr10"], table["rows"]
    for col in ("ky", "es", "low avg", "high avg"):
        assert gain["per"][col] == pytest.approx(
            rows["xlsr10_alpha1"]["per"][col] - rows["xlsr10"]["per"][col], abs=0.01)
    assert sorted(table["pretraining"]) == ["xlsr10", "xlsr10_alpha1"]
    text = (tmp_path / "results.md").read_text()
    assert "| α = 0.5 | " in text and "| α = 1 | " in text and "gained over α = 1" in text


def test_fewshot_study(tmp_path, demo_out):
    done = finished(demo_out, "xlsr10", "none")
    table, stdout = study("fewshot", tmp_path, demo_out, "--label-minutes", "0.02,0.1")
    assert table["subsets"] == ["train_1200ms", "train_6s"]
    assert list(table["rows"]) == ["xlsr10", "mono_fr", "none", "gain_mono_fr", "gain_none"]
    seed = table["per_seed"][0]["rows"]
    for x in table["subsets"]:
        assert seed["xlsr10"]["per"][x] == seed["xlsr10"]["per"][f"ky {x}"]
        assert seed["gain_none"]["per"][x] == pytest.approx(
            seed["none"]["per"][x] - seed["xlsr10"]["per"][x], abs=0.01)
    # The subsets nest and are drawn speaker by speaker (xlsr_plugin/preparation/fewshot.py):
    # ky's train split is one clip of each of its two training voices here.
    data = tmp_path / "data"
    small, large, train = (set(read_subset(str(data), "ky", name))
                           for name in ("train_1200ms", "train_6s", "train"))
    assert len(small) == 1 and small < large == train and len(train) == 2
    speaker = clip_speakers(demo_out / "cv-corpus-synthetic" / "ky" / "validated.tsv")
    for subset in (small, large):
        counts = Counter(speaker[os.path.splitext(os.path.basename(p))[0]] for p, _ in subset)
        assert max(counts.values()) - min(counts.values()) <= 1
    seconds = table["labelled_seconds"]["ky"]
    assert 1.2 <= seconds["train_1200ms"] < seconds["train_6s"]
    # XLSR-10 and no pretraining: the demo folder's runs, not trained again when there.
    for name, was_done in done.items():
        assert not was_done or f"pretrain_{name}_s1 started" not in stdout
    assert "pretrain_mono_fr_s1 started" in stdout
    assert sorted(table["pretraining"]) == ["mono_fr", "xlsr10"]


def test_capacity_study(tmp_path, demo_out):
    done = finished(demo_out, "xlsr10", "mono_ky")
    table, stdout = study("capacity", tmp_path, demo_out, "--sizes", "1x32,2x64",
                          "--finetune-seeds", "2")
    # 2x64 is xlsr_mini's own size: the demo folder's runs; 1x32 gets runs of its own there.
    for name, was_done in done.items():
        assert not was_done or f"pretrain_{name}_s1 started" not in stdout
    pretrained = demo_out / "seed1" / "pretrain"
    assert {"xlsr10_1x32", "mono_ky_1x32"} <= {p.name for p in pretrained.iterdir()}
    line = command_line(demo_out / "logs" / "pretrain_mono_ky_1x32_s1.log")
    for override in ("model.encoder_layers=1", "model.encoder_embed_dim=32",
                     "model.encoder_ffn_embed_dim=64", "model.encoder_attention_heads=1",
                     "'++task.langs=[ky]'"):
        assert override in line
    assert [r["size"] for r in table["rows"]] == ["1x32", "2x64"]
    small, large = table["rows"]
    assert small["parameters"] < large["parameters"]
    for r, model in ((small, "xlsr10_1x32"), (large, "xlsr10")):
        e = r["overall"]
        assert (e["language"], e["runs_a"], e["runs_b"], e["utterances"]) == ("ky", 2, 2, 6)
        # XLSR-10's PER: its two fine-tunings' errors over their units, from the score lines.
        counts = [per_of((tmp_path / "seed1" / "finetune" / folder / "decode" /
                          "generate-test_ky.txt").read_text())
                  for folder in (f"{model}_ky", f"{model}_ky_ft2")]
        assert e["rate_a"] == pytest.approx(100 * sum(c["errors"] for c in counts)
                                            / sum(c["units"] for c in counts))
        assert e["difference"] == pytest.approx(e["rate_a"] - e["rate_b"])
        assert e["low"] <= e["difference"] <= e["high"]
    assert table["finding"].endswith(f"2x64: {large['overall']['difference']:+.1f} "
                                     f"[{large['overall']['low']:+.1f}, "
                                     f"{large['overall']['high']:+.1f}]).")
    assert "Finding: " in stdout and "| 1x32 | " in stdout


def clip_speakers(tsv):
    with open(tsv, encoding="utf-8") as f:
        rows = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        return {os.path.splitext(r["path"])[0]: r["client_id"] for r in rows}


@pytest.mark.parametrize("preset", ["default", "long"])
def test_a_study_reuses_the_demo_runs_of_its_preset(preset, monkeypatch):
    monkeypatch.setenv("XLSR_DEMO_PRETRAIN_UPDATES", "700")  # the demo's variables count too
    # a study's defaults: 3 pretraining seeds of one fine-tuning each
    demo = parse(["--preset", preset, "--seeds", "3", "--finetune-seeds", "1"])
    assert parse(["--preset", preset]).seeds == 1  # the demo's
    for cls in (UnseenSettings, AlphaSettings, FewshotSettings, CapacitySettings):
        s = parse(["--preset", preset], cls)
        assert s.out == "runs/study_" + cls.study + ("" if preset == "default" else "_long")
        assert s.demo_out == demo.out and s.pretrain_updates == 700
        # The capacity study fine-tunes other languages with other seeds: its pretraining
        # runs are the demo's all the same.
        assert s.demo_settings() == demo or cls is CapacitySettings
        assert pretrain_job(s.demo_settings(), "xlsr10", 2).params == \
            pretrain_job(demo, "xlsr10", 2).params


def test_environment_of_a_study(monkeypatch):
    monkeypatch.setenv("XLSR_DEMO_OUT", "elsewhere/demo")  # the demo's folder, not the study's
    monkeypatch.setenv("XLSR_FEWSHOT_LABEL_MINUTES", "1,3")
    monkeypatch.setenv("XLSR_ALPHA_OUT", "elsewhere/alpha")
    s = parse([], FewshotSettings)
    assert (s.demo_out, s.out, s.minutes) == ("elsewhere/demo", "runs/study_fewshot", [1, 3])
    assert parse([], AlphaSettings).out == "elsewhere/alpha"


def test_options_are_checked():
    with pytest.raises(ValueError, match="outside XLSR-10"):
        parse(["--unseen-langs", "pt,es"], UnseenSettings)
    with pytest.raises(ValueError, match="not low-resource"):
        parse(["--high-langs", "ky"], AlphaSettings)
    with pytest.raises(ValueError, match="not fine-tuned"):
        parse(["--single-lang", "tr"], FewshotSettings)
    assert parse(["--label-minutes", "2,0.5,1"], FewshotSettings).minutes == [0.5, 1, 2]


def _row(per, avg=None):
    return {"per": per, "avg": avg}


def test_studies_aggregate_seeds_to_mean_std():
    row = results.aggregate_row([_row({"ky": 40.0, "es": 20.0}, 30.0),
                                 _row({"ky": 44.0, "es": 26.0}, 35.0)])
    assert row["per"] == {"ky": 42.0, "es": 23.0} and row["std"] == {"ky": 2.83, "es": 4.24}
    assert (row["avg"], row["avg_std"], row["per_seed"]["es"]) == (32.5, 3.54, [20.0, 26.0])
    cells = {"ky": 42.0, "es": 23.0, "low avg": 42.0, "high avg": 23.0}
    table = {"langs": ["ky", "es"], "low": ["ky"], "high": ["es"], "per_seed": [{"rows": {
        "xlsr10": {"plan": {}}}}], "rows": {"xlsr10": {"alpha": 0.5, **row, "per": cells,
                                                       "std": {**row["std"], "low avg": 2.83,
                                                               "high avg": 4.24}}}}
    assert "| α = 0.5 | 42.0 ± 2.8 | 23.0 ± 4.2 | 42.0 ± 2.8 | 23.0 ± 4.2 | 32.5 ± 3.5 |" in \
        alpha.markdown(table)
    gains = results.aggregate_row([_row({"train_30s": 10.0}), _row({"train_30s": 4.0})])
    assert (gains["per"], gains["std"], gains["avg"]) == ({"train_30s": 7.0},
                                                         {"train_30s": 4.24}, None)
    # Two seeds that agree still show their spread: "39.2" alone would read as one seed.
    same = results.aggregate_row([_row({"ka": 39.16}, 39.16), _row({"ka": 39.16}, 39.16)])
    assert results.row_cells(same, ["ka", "avg"]) == ["39.2 ± 0.0", "39.2 ± 0.0"]
    one = results.aggregate_row([_row({"ka": 39.16}, 39.16)])
    assert results.row_cells(one, ["ka", "avg"]) == ["39.2", "39.2"]
    assert fewshot.subset(0.5) == "train_30s" and fewshot.tag(2) == "2min"
