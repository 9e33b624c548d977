"""The README's main job (`make demo`, examples/xlsr10_mini) end to end at its smallest sizes,
its re-run reusing every stage, and its stage runner's markers and failure messages."""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # examples/ is a top-level folder of the repository, not installed
    sys.path.insert(0, ROOT)

from examples.xlsr10_mini import results  # noqa: E402
from examples.xlsr10_mini.settings import parse  # noqa: E402
from examples.xlsr10_mini.stages import Job, Runner, StageFailed  # noqa: E402

SMALLEST = ["--clips-high", "3", "--clips-mid", "3", "--clips-low", "6", "--speakers", "3",
            "--low-resource-langs", "ky", "--mono-langs", "ky", "--pretrain-updates", "3",
            "--finetune-updates", "3", "--finetune-minutes", "0.1", "--units-hours", "0.01",
            "--jobs", "3"]


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
    for stage in ("stage 1/6 corpus", "stage 3/6 pretrain: pretrain_xlsr10 3/3 updates",
                  "stage 4/6 finetune: finetune_none_ky finished", "stage 6/6 units"):
        assert stage in stdout
    assert "| XLSR-10 | " in stdout and "relative reduction" in stdout
    table = json.loads((out / "results.json").read_text())
    assert table["langs"] == ["ky"]
    for key in ("mono", "xlsr10", "none"):
        row = table["rows"][key]
        assert row["per"]["ky"] >= 0 and row["units"]["ky"] > 0 and row["avg"] == row["per"]["ky"]
    assert table["relative_reduction"]["mono"]["langs"] == ["ky"]
    assert table["settings"]["pretrain_updates"] == 3
    for name in ("results.md", "results.png", "units/units.json", "units/units.png",
                 "units/usage.png", "finetune/xlsr10_ky/decode/generate-test_ky.txt"):
        assert (out / name).stat().st_size > 0, name
    units = json.loads((out / "units" / "units.json").read_text())
    assert sorted(units["languages"]) == ["es", "fr", "it", "ky", "nl", "ru", "sv", "tr", "tt",
                                          "zh"]


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


def test_markers_hold_their_settings(tmp_path):
    runner = Runner(str(tmp_path), report=lambda line: None)
    calls = []
    for params in ({"n": 1}, {"n": 1}, {"n": 2}):
        runner.stage("corpus", params, lambda: calls.append(1))
    assert len(calls) == 2  # the second run reused the first; new settings run again


def test_knobs_come_from_options_and_environment(monkeypatch):
    monkeypatch.setenv("XLSR_DEMO_PRETRAIN_UPDATES", "1000")
    monkeypatch.setenv("XLSR_DEMO_LOW_RESOURCE_LANGS", "sv,tr")
    s = parse(["--finetune-updates", "7"])
    assert (s.pretrain_updates, s.finetune_updates, s.low) == (1000, 7, ["sv", "tr"])
    assert s.clips()["sv-SE"] == s.clips_low and s.clips()["fr"] == s.clips_high
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
    assert table["relative_reduction"]["mono"] == {"langs": ["ky"], "xlsr10": 40.0,
                                                   "baseline": 50.0, "percent": 20.0}
    assert table["relative_reduction"]["none"]["percent"] == 37.5
    assert "| XLSR-Monolingual | 50.0 | - | 50.0 |" in results.markdown(table)
