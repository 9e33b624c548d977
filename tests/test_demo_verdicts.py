"""The demo's test sets and verdicts without training: every tested voice is unheard, the
verdict words for 'better', 'worse' and 'not distinguishable', and the capacity study's finding
from each size's verdict."""
import csv
from types import SimpleNamespace

import pytest

from examples.xlsr10_mini import verdicts
from examples.xlsr10_mini.settings import parse
from examples.xlsr10_mini.studies.capacity import CapacitySettings, finding, model_name
from xlsr_plugin.synthetic import make_commonvoice_release, speaker_voices


def test_default_test_sets_are_large_and_unheard():
    s = parse([])
    voices = {}
    for locale, train in s.speakers().items():
        total = s.test_voices + s.dev_voices + train
        voices[locale] = speaker_voices(locale, total, s.voice_shifts()[locale],
                                        held=s.test_voices + s.dev_voices)
    variant = lambda voice: voice.split("+", 1)[1]  # noqa: E731  ky+m1 -> m1
    trained = {variant(v) for vs in voices.values() for v in vs[s.test_voices + s.dev_voices:]}
    for lang in s.low:
        locale = {"sv": "sv-SE"}.get(lang, lang)
        test, dev = s.held_out()[locale]
        assert test >= 100 and dev >= 50 and s.test_voices >= 3
        tested = {variant(v) for v in voices[locale][:s.test_voices + s.dev_voices]}
        assert len(tested) == 5 and not tested & trained  # no model trains on these voices


def test_release_gives_each_split_its_own_voices(tmp_path):
    make_commonvoice_release(tmp_path, {"ky": 4}, speakers_per_lang=6, seed=1, test_speakers=3,
                             dev_speakers=2, test_clips=7, dev_clips=4)
    clients = {}
    for split, clips in (("test", 7), ("dev", 4)):
        with open(tmp_path / "ky" / f"{split}.tsv", encoding="utf-8") as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        assert len(rows) == clips
        clients[split] = {r["client_id"] for r in rows}
    with open(tmp_path / "ky" / "validated.tsv", encoding="utf-8") as f:
        everyone = {r["client_id"] for r in csv.DictReader(f, delimiter="\t")}
    assert len(clients["test"]) == 3 and len(clients["dev"]) == 2
    assert len(everyone - clients["test"] - clients["dev"]) == 1  # the one training voice


def test_too_many_voices_are_refused():
    with pytest.raises(ValueError, match="12 variants"):
        parse(["--speakers-high", "8"])


def generate_output(refs, hyps, lang="ky"):
    lines = [f"T-{i}\t{r}\nH-{i}\t-1.0\t{h}" for i, (r, h) in enumerate(zip(refs, hyps))]
    return "\n".join(lines) + f"\nGenerate test_{lang} with beam=5: PER: 0.00\n"


def runs_on(tmp_path, systems):
    """``{model: [hypotheses per run]}`` on 40 two-phone utterances -> (runs, output_path)."""
    refs = ["a b"] * 40
    runs, paths = [], {}
    for model, hyps in systems.items():
        for k, hyp in enumerate(hyps):
            run = SimpleNamespace(model=model, lang="ky", seed=1, finetune_seed=k)
            path = tmp_path / f"{model}_{k}.txt"
            path.write_text(generate_output(refs, hyp), encoding="utf-8")
            runs.append(run)
            paths[id(run)] = str(path)
    return runs, lambda run: paths[id(run)]


def test_verdict_words(tmp_path):
    right = ["a b"] * 40
    wrong = ["a"] * 20 + ["a b"] * 20  # 20 deletions in 80 phones: PER 25
    runs, path = runs_on(tmp_path, {"xlsr10": [right, right], "none": [wrong, wrong],
                                    "mono_ky": [wrong[::-1], right]})
    found = {e["baseline"]: e for e in verdicts.verdicts(runs, path)}
    assert found["none"]["verdict"] == "better"
    assert (found["none"]["rate_a"], found["none"]["rate_b"]) == (0, 25)
    assert found["none"]["high"] < 0 and found["none"]["runs_a"] == 2
    # mono's two runs: one as wrong as none, one right: resampling the runs spans 0.
    assert found["mono"]["verdict"] == "not distinguishable at this size"
    assert found["mono"]["low"] < 0 == found["mono"]["high"]
    runs, path = runs_on(tmp_path, {"xlsr10": [wrong], "none": [right]})
    (worse,) = verdicts.verdicts(runs, path)
    assert worse["verdict"] == "worse" and worse["difference"] == 25
    lines = verdicts.sentence([worse])
    assert lines == [f"XLSR-10 vs no pretraining: worse (+25.0 PER points, 95% interval "
                     f"[{worse['low']:+.1f}, {worse['high']:+.1f}], P(XLSR-10 better) 0.000)"]
    assert 0 < worse["low"] < 25 < worse["high"]
    table = verdicts.markdown([worse], pretraining_seeds=1, finetune_seeds=1)
    assert "| no pretraining | ky | 40 | 25.0 | 0.0 | +25.0 |" in table
    assert "does not cover the pretraining run" in table
    assert "does not cover" not in verdicts.markdown([worse], 3, 1)


def row(size, difference, low, high, verdict):
    return {"size": size, "overall": {"difference": difference, "low": low, "high": high,
                                      "verdict": verdict, "language": "all"}}


@pytest.mark.parametrize("words, expected", [
    (["worse", "worse", "worse"], "the gap does not close at these sizes"),
    (["worse", "not distinguishable at this size", "not distinguishable at this size"],
     "the gap closes: XLSR-10 is worse at 2x64 and not distinguishable at 6x192"),
    (["worse", "not distinguishable at this size", "better"], "the gap crosses"),
    (["not distinguishable at this size"] * 3, "not distinguishable at any size"),
    (["better", "worse", "worse"], "no trend with size: XLSR-10 is better at 2x64, worse at 4x128, "
                                   "worse at 6x192"),
])
def test_capacity_finding(words, expected):
    rows = [row(size, -1.0, -2.0, 0.5, w) for size, w in zip(("2x64", "4x128", "6x192"), words)]
    text = finding(rows)
    assert expected in text
    assert "PER points on all languages pooled: 2x64: -1.0 [-2.0, +0.5]," in text


def test_capacity_reuses_the_demo_run_at_its_size():
    s = parse([], CapacitySettings)
    assert s.size_values == [(2, 64), (4, 128), (6, 192)] and s.seeds == 2
    assert model_name(s, "xlsr10", (2, 64)) == "xlsr10"
    assert model_name(s, "mono_tr", (4, 128)) == "mono_tr_4x128"
    long = parse(["--preset", "long"], CapacitySettings)
    assert model_name(long, "xlsr10", (4, 128)) == "xlsr10"
    with pytest.raises(ValueError, match="multiple of 32"):
        parse(["--sizes", "2x64,3x100"], CapacitySettings)
