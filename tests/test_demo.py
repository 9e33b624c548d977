"""The README's main job (`make demo`, examples/xlsr10_mini) end to end at its smallest sizes,
its re-run reusing every stage, its stage runner's markers (settings and config fingerprints)
and failure messages, and the tables: like-for-like averages and the seeds' mean ± std."""
import json
import os
import subprocess
import sys

import pytest

from examples.xlsr10_mini import results
from examples.xlsr10_mini.finetune import per_of
from examples.xlsr10_mini.settings import parse
from examples.xlsr10_mini.pretrain import pretrain_job
from examples.xlsr10_mini.job_runner import Job, Runner, StageFailed, config_fingerprint

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SMALLEST = ["--clips-high", "3", "--clips-mid", "3", "--clips-low", "6", "--speakers-high", "2",
            "--speakers-mid", "2", "--speakers-low", "2", "--test-clips-low", "6",
            "--dev-clips-low", "3", "--held-out-clips", "2",
            "--low-resource-langs", "ky", "--mono-langs", "ky", "--pretrain-updates", "3",
            "--finetune-updates", "3", "--finetune-minutes", "0.1", "--units-hours", "0.01",
            "--finetune-seeds", "2", "--jobs", "3"]

TEN = ["es", "fr", "it", "ky", "nl", "ru", "sv", "tr", "tt", "zh"]


def demo(out, *args):
    proc = subprocess.run([sys.executable, "-m", "examples.xlsr10_mini", "--out", str(out),
                           *SMALLEST, *args], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    return out, demo(out)


def test_demo_prints_and_writes_the_table(demo_run):
    out, stdout = demo_run
    for stage in ("stage 1/6 corpus", "stage 3/6 pretrain: pretrain_xlsr10_s1 3/3 updates",
                  "stage 4/6 finetune: finetune_none_ky_s1 finished", "stage 6/6 units"):
        assert stage in stdout
    assert "| XLSR-10 | " in stdout and "relative reduction" in stdout
    assert "validation contrastive accuracy" in stdout
    table = json.loads((out / "results.json").read_text())
    assert table["langs"] == ["ky"] and table["seeds"] == [1] and table["finetune_seeds"] == 2
    pooled = {}
    for key, model in (("mono", "mono_ky"), ("xlsr10", "xlsr10"), ("none", "none")):
        row = table["per_seed"][0]["rows"][key]
        assert row["per"]["ky"] >= 0 and row["units"]["ky"] > 0 and row["avg"] == row["per"]["ky"]
        assert table["rows"][key]["per"] == row["per"] and table["rows"][key]["std"] == {"ky": 0}
        # A cell pools its two fine-tuning seeds (common.seed 1 and 2): their errors over
        # their units, recounted here from each decoding's score line.
        counts = [per_of((out / "seed1" / "finetune" / folder / "decode" /
                          "generate-test_ky.txt").read_text())
                  for folder in (f"{model}_ky", f"{model}_ky_ft2")]
        assert row["errors"]["ky"] == sum(c["errors"] for c in counts)
        assert row["units"]["ky"] == sum(c["units"] for c in counts) == 2 * counts[0]["units"]
        pooled[key] = 100 * row["errors"]["ky"] / row["units"]["ky"]
        assert "common.seed=2" in (out / "logs" / f"finetune_{model}_ky_ft2_s1.log").read_text(
            ).splitlines()[0]
    # The verdicts compare the same 6 test utterances, both fine-tuning seeds of each system.
    verdicts = {v["baseline"]: v for v in table["verdicts"]}
    for base in ("mono", "none"):
        v = verdicts[base]
        assert (v["language"], v["utterances"], v["runs_a"], v["runs_b"]) == ("ky", 6, 2, 2)
        assert v["difference"] == pytest.approx(pooled["xlsr10"] - pooled[base], abs=1e-9)
        assert v["low"] <= v["difference"] <= v["high"]
        assert v["verdict"] in ("better", "worse", "not distinguishable at this size")
        assert f"XLSR-10 vs {v['against']}: {v['verdict']} ({v['difference']:+.1f}" in stdout
    assert "1 pretraining seed x 2 fine-tuning seeds" in stdout
    assert table["relative_reduction"]["mono"]["langs"] == ["ky"]
    assert table["settings"]["pretrain_updates"] == 3
    # The last validation of each pretraining, overall and per language, from its log.
    for model, langs in (("xlsr10", TEN), ("mono_ky", ["ky"])):
        accuracy = table["pretraining"][model]["mean"]
        assert 0 <= accuracy["accuracy"] <= 1
        assert sorted(k for k in accuracy if k != "accuracy") == [f"accuracy_{x}" for x in langs]
    # Curves against updates: the last point is the run's end.
    curves = table["per_seed"][0]["curves"]
    assert curves["accuracy"]["xlsr10"][-1]["num_updates"] == 3
    assert sorted(curves["valid_per"]) == ["mono_ky_ky", "mono_ky_ky_ft2", "none_ky",
                                           "none_ky_ft2", "xlsr10_ky", "xlsr10_ky_ft2"]
    # Validation PER as the `per` scorer counts it (not fairseq's uer, which counts `|`).
    assert all(0 <= point["per"] for point in curves["valid_per"]["xlsr10_ky"])
    assert all("uer" not in point for point in curves["valid_per"]["xlsr10_ky"])
    for name in ("results.md", "results.png", "units/units.json", "units/units.png",
                 "units/usage.png", "seed1/finetune/xlsr10_ky/decode/generate-test_ky.txt"):
        assert (out / name).stat().st_size > 0, name
    units = json.loads((out / "units" / "units.json").read_text())
    assert sorted(units["languages"]) == TEN


def test_second_run_reuses_every_stage(demo_run):
    out, first = demo_run
    again = demo(out)
    assert "started" not in again
    assert again.count("reused") == 6

    def table(stdout):
        return stdout.split("Phone error rate")[1].split("Written:")[0]

    assert table(again) == table(first)


def test_failed_stage_names_stage_command_and_log_tail(tmp_path):
    runner = Runner(str(tmp_path), report=lambda line: None)
    command = [sys.executable, "-c", "print('loading'); raise SystemExit('bad data: no audio')"]
    with pytest.raises(StageFailed) as err:
        runner.run_jobs("pretrain", [Job("pretrain_x", command, "pretrain_x", {"a": 1})])
    message = str(err.value)
    assert "stage 'pretrain' failed" in message and "bad data: no audio" in message
    assert "raise SystemExit" in message and "pretrain_x.log" in message
    assert not runner.done("pretrain_x", {"a": 1})


def test_a_job_starts_once_the_jobs_it_needs_completed(tmp_path):
    runner = Runner(str(tmp_path), report=lambda line: None, jobs=2)
    done = str(tmp_path / "a.done")

    def job(name, code, needs=()):
        return Job(name, [sys.executable, "-c", code], name, {}, needs=list(needs))

    first = job("a", f"import time; time.sleep(1); open({done!r}, 'w')")
    # b fails unless a has finished; c runs beside a meanwhile
    second = job("b", f"import os, sys; sys.exit(0 if os.path.exists({done!r}) else 1)", ["a"])
    runner.run_jobs("pretrain", [second, first, job("c", "pass")])
    assert all(runner.done(name, {}) for name in "abc")
    with pytest.raises(ValueError, match="not among them"):
        runner.run_jobs("pretrain", [job("d", "pass", ["nothing"])])


def test_preset_long_sets_defaults_that_options_override():
    s = parse(["--preset", "long"])
    assert (s.pretrain_config, s.finetune_config, s.pretrain_updates) == (
        "xlsr_mini_long", "ctc_mini", 2500)
    assert s.out == "runs/xlsr10_mini_long"
    assert parse(["--preset", "long", "--pretrain-config", "x"]).pretrain_config == "x"
    assert parse([]).pretrain_config == "xlsr_mini"
    for folder, name in (("pretraining", s.pretrain_config), ("finetuning", s.finetune_config)):
        assert os.path.isfile(os.path.join(ROOT, "config", folder, name + ".yaml"))


def test_markers_hold_their_settings(tmp_path):
    runner = Runner(str(tmp_path), report=lambda line: None)
    calls = []
    for params in ({"n": 1}, {"n": 1}, {"n": 2}):
        runner.stage("corpus", params, lambda: calls.append(1))
    assert len(calls) == 2  # the second run reused the first; new settings run again


def test_knobs_come_from_options_and_environment(monkeypatch):
    monkeypatch.setenv("XLSR_DEMO_PRETRAIN_UPDATES", "1000")
    monkeypatch.setenv("XLSR_DEMO_LOW_RESOURCE_LANGS", "sv,tr")
    s = parse(["--finetune-updates", "7", "--seed", "5", "--seeds", "3"])
    assert (s.pretrain_updates, s.finetune_updates, s.low) == (1000, 7, ["sv", "tr"])
    assert s.clips()["sv-SE"] == s.clips_low and s.clips()["fr"] == s.clips_high
    assert s.train_seeds == [5, 6, 7]
    # Voices by tier; a language made low-resource gets the low tier's clips and voices.
    voices = parse(["--low-resource-langs", "fr", "--speakers-low", "3"]).speakers()
    assert (voices["fr"], voices["ky"], voices["es"], voices["nl"]) == (3, 3, 7, 4)
    held_out = parse(["--low-resource-langs", "fr"]).held_out()
    assert (held_out["fr"], held_out["ky"], held_out["es"]) == ((120, 60), (120, 60), (24, 24))
    with pytest.raises(ValueError, match="not XLSR-10 languages"):
        parse(["--low-resource-langs", "fi"])


def test_table_averages_and_relative_reduction():
    per = {"xlsr10": {"ky": {"per": 40.0, "errors": 40, "units": 100},
                      "sv": {"per": 60.0, "errors": 60, "units": 100}},
           "mono_ky": {"ky": {"per": 50.0, "errors": 50, "units": 100}},
           "none": {"ky": {"per": 80.0, "errors": 80, "units": 100},
                    "sv": {"per": 80.0, "errors": 80, "units": 100}}}
    table = results.collect(per, ["ky", "sv"])
    assert table["rows"]["xlsr10"]["avg"] == 50.0 and table["rows"]["mono"]["avg"] == 50.0
    assert table["relative_reduction"]["mono"] == {"langs": ["ky"], "xlsr10": 40.0, "gap": 10.0,
                                                   "baseline": 50.0, "percent": 20.0}
    assert table["relative_reduction"]["none"]["percent"] == 37.5
    assert "| XLSR-Monolingual | 50.0 | - | 50.0 | ky |" in results.markdown(table)


def _seed_table(xlsr10, mono_ky, none):
    cell = lambda per: {"per": per, "errors": per, "units": 100}  # noqa: E731
    return results.collect({"xlsr10": {k: cell(v) for k, v in xlsr10.items()},
                            "mono_ky": {"ky": cell(mono_ky)},
                            "none": {k: cell(v) for k, v in none.items()}}, ["ky", "sv"])


def test_seeds_aggregate_to_mean_std_and_order():
    tables = [_seed_table({"ky": 40.0, "sv": 60.0}, 50.0, {"ky": 80.0, "sv": 80.0}),
              _seed_table({"ky": 44.0, "sv": 56.0}, 42.0, {"ky": 70.0, "sv": 90.0})]
    table = results.aggregate(tables, [1, 2])
    xlsr = table["rows"]["xlsr10"]
    assert xlsr["per"] == {"ky": 42.0, "sv": 58.0} and xlsr["std"] == {"ky": 2.83, "sv": 2.83}
    assert (xlsr["avg"], xlsr["avg_std"], xlsr["per_seed"]["ky"]) == (50.0, 0.0, [40.0, 44.0])
    assert (table["rows"]["mono"]["per"], table["rows"]["mono"]["langs"]) == ({"ky": 46.0}, ["ky"])
    # Against the monolingual model on ky alone: gaps 10 and -2 points.
    mono = table["relative_reduction"]["mono"]
    assert (mono["langs"], mono["gap_per_seed"], mono["gap"], mono["gap_std"]) == (
        ["ky"], [10.0, -2.0], 4.0, 8.49)
    assert mono["percent_per_seed"] == [20.0, -4.8]
    assert table["order"]["mono"] == {"better_in": 1, "seeds": 2, "gap_exceeds_spread": False}
    # Against no pretraining on ky and sv: 30 points in both seeds.
    assert table["relative_reduction"]["none"]["percent"] == 37.5
    assert table["order"]["none"] == {"better_in": 2, "seeds": 2, "gap_exceeds_spread": True}
    text = results.markdown(table)
    assert "| XLSR-10 | 42.0 ± 2.8 | 58.0 ± 2.8 | 50.0 ± 0.0 | ky, sv |" in text
    assert "| XLSR-Monolingual | 46.0 ± 5.7 | - | 46.0 ± 5.7 | ky |" in text
    assert "better in 1 of 2 seeds, gap 4.0 ± 8.5 points" in text
    assert "(ky, sv): average PER 80.0 ± 0.0 -> 50.0 ± 0.0, relative reduction +37.5%" in text
    stats = results.pretraining_accuracy([{"xlsr10": {"accuracy": 0.3, "accuracy_ky": 0.2}},
                                          {"xlsr10": {"accuracy": 0.2, "accuracy_ky": 0.4}}])
    assert stats["xlsr10"]["mean"] == {"accuracy": 0.25, "accuracy_ky": 0.3}
    assert stats["xlsr10"]["std"]["accuracy_ky"] == 0.14
    same = results.pretraining_accuracy([{"xlsr10": {"accuracy": 0.3}}] * 2)
    table["pretraining"] = same  # two seeds that agree still show their spread
    assert "validation contrastive accuracy 0.300 ± 0.000 (" in results.markdown(table)


def test_markers_fingerprint_the_configs_they_ran(tmp_path):
    (tmp_path / "xlsr_plugin").mkdir()
    (tmp_path / "xlsr_plugin" / "__init__.py").write_text('__version__ = "9.9"\n')
    conf = tmp_path / "conf"
    (conf / "grp").mkdir(parents=True)
    (conf / "top.yaml").write_text("defaults:\n  - _self_\n  - base\n  - grp: leaf\n")
    (conf / "base.yaml").write_text("a: 1\n")
    (conf / "grp" / "leaf.yaml").write_text("b: 2\n")
    before = config_fingerprint(str(tmp_path), str(conf), "top")
    assert sorted(before) == ["conf/base.yaml", "conf/grp/leaf.yaml", "conf/top.yaml",
                              "xlsr_plugin"]
    assert before["xlsr_plugin"] == "9.9"
    runner = Runner(str(tmp_path / "out"), report=lambda line: None)
    runner.mark("pretrain_x", {"config": before})
    (conf / "grp" / "leaf.yaml").write_text("b: 3\n")  # an edit two levels down
    after = config_fingerprint(str(tmp_path), str(conf), "top")
    assert after["conf/grp/leaf.yaml"] != before["conf/grp/leaf.yaml"]
    assert after["conf/base.yaml"] == before["conf/base.yaml"]
    assert not runner.done("pretrain_x", {"config": after})
    # The demo's own runs record the files their config is composed of.
    job = pretrain_job(parse([]), "xlsr10", 1)
    assert sorted(job.params["config"]) == ["config/pretraining/mini/layer_norm.yaml",
                                            "config/pretraining/task_options/xlsr_pretraining.yaml",
                                            "config/pretraining/xlsr_mini.yaml",
                                            "config/pretraining/xlsr_tiny.yaml", "xlsr_plugin"]


def test_decode_per_is_read_from_the_scorer_line():
    """The demo reads fairseq-generate's score line with the plugin's one reader: 2 errors in
    12 phones is 16.67 (by hand); another scorer's line is no PER."""
    line = "Generate test_fi with beam=5: PER: 16.67 (2 errors / 12 reference units, 3 utterances)"
    assert per_of("H-0\t-1.0\ta b\n" + line) == {"per": 16.67, "errors": 2, "units": 12}
    assert per_of(line.replace("PER", "CER")) is None and per_of("no score line") is None
