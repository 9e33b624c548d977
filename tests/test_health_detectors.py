"""The run-health detectors on records worked by hand, and the log reader on the line formats
fairseq prints (fairseq-train and fairseq-hydra-train, simple and json)."""
import math

import pytest

from xlsr_plugin.health.detectors import (
    detect_blank,
    detect_chance,
    detect_collapse,
    detect_divergence,
    warmup_end,
)
from xlsr_plugin.health.log_reader import LogError, config_dict, read_run
from xlsr_plugin.health.monitor import HealthMonitor
from xlsr_plugin.health.records import Record, RunSettings, Thresholds
from xlsr_plugin.health.verdict import judge

TINY = RunSettings(negatives=20, codebook=64, extractor_mode="default", layer_norm_first=False,
                   feature_grad_mult=0.1)
TH = Thresholds()


def train_records(accuracies, lrs=None, **series):
    """One record per 10 updates; lr rises over the first two (warm-up ends at update 20)."""
    lrs = lrs or [1e-4, 2e-4] + [2e-4 - 1e-6 * i for i in range(1, len(accuracies) - 1)]
    return [Record(10 * (i + 1), {"accuracy": a, "lr": lr, **{k: v[i] for k, v in series.items()}})
            for i, (a, lr) in enumerate(zip(accuracies, lrs))]


def test_warm_up_ends_where_the_logged_lr_stops_rising():
    assert warmup_end(train_records([0.05] * 5)) == 20
    assert warmup_end(train_records([0.05] * 3, lrs=[1, 2, 3])) is None  # still warming up
    assert warmup_end(train_records([0.05] * 3, lrs=[5, 5, 5])) == 10  # no warm-up


def test_chance_fires_from_twice_the_warm_up_and_names_the_layer_norm_recipe():
    # K = 20: chance 1/21 = 0.0476, at chance below 2/21 = 0.0952; judged from update 40.
    records = train_records([0.05, 0.06, 0.05, 0.07, 0.06])
    assert detect_chance(records[:5][:4], TINY, TH) == []  # window 20..40 starts before update 40
    records += train_records([0.05] * 6)[5:]
    [finding] = detect_chance(records[:6], TINY, TH)  # window 40, 50, 60: mean 0.06
    assert (finding.key, finding.update) == ("chance", 60)
    assert "accuracy 0.0600" in finding.evidence and "1/21 = 0.0476" in finding.evidence
    assert "model.extractor_mode=layer_norm" in finding.causes[0] and "fairseq#3315" in finding.causes[0]
    assert "feature_grad_mult=0.1" in finding.causes[1]


def test_chance_needs_the_accuracy_below_the_margin():
    # mean 0.1 > 0.0952: out of chance with margin 1; in it with margin 1.5 (limit 0.119)
    records = train_records([0.1] * 6)
    assert detect_chance(records, TINY, TH) == []
    assert [f.key for f in detect_chance(records, TINY, Thresholds(chance_margin=1.5))] == ["chance"]
    assert detect_chance(train_records([0.05] * 6), TINY, Thresholds(chance=False)) == []


def test_a_language_at_chance_while_the_run_learns_is_named():
    records = train_records([0.4] * 6, accuracy_sw=[0.05, math.nan, 0.04, 0.06, 0.05, 0.04],
                            accuracy_es=[0.5] * 6)
    [finding] = detect_chance(records, TINY, TH)
    assert finding.key == "chance_sw" and "accuracy_sw 0.0500" in finding.evidence  # (0.06+0.05+0.04)/3
    assert "DATA/sw/" in finding.causes[0] and "task.sampling_alpha" in finding.causes[1]


def test_collapse_far_below_the_codebook_or_falling_from_its_peak():
    low = train_records([0.3] * 4, code_perplexity=[40, 3, 2.5, 3])
    [finding] = detect_collapse(low, TINY, TH)  # max of the last 3 = 3 < 0.05 x 64 = 3.2
    assert "code_perplexity 3 " in finding.evidence and "codebook of 64" in finding.evidence
    assert "optimization.lr" in finding.causes[0] and "loss_weights" in finding.causes[1]
    falling = train_records([0.3] * 5, code_perplexity=[300, 100, 50, 40, 45])
    assert detect_collapse(falling[:4], RunSettings(codebook=640), TH) == []  # 100 >= 0.2 x 300
    [fell] = detect_collapse(falling, RunSettings(codebook=640), TH)  # 50 < 60, but > 0.05 x 640
    assert "fell to 50 (highest of the last 3 logs) from a peak of 300" in fell.evidence
    healthy = train_records([0.3] * 4, code_perplexity=[300, 250, 200, 220])
    assert detect_collapse(healthy, RunSettings(codebook=640), TH) == []


def test_divergence_on_a_non_finite_or_exploding_loss_or_gnorm_or_a_sinking_loss_scale():
    records = train_records([0.3] * 4, gnorm=[1.0, 2.0, 1.5, 300.0])
    [finding] = detect_divergence(records, TINY, TH)  # 300 > 100 x median(1, 2, 1.5) = 150
    assert "gnorm 300, over 100 x the median of the 3 logs before it (1.5)" in finding.evidence
    assert "optimization.lr" in finding.causes[0]
    assert detect_divergence(records[:3] + [Record(40, {"gnorm": 149.0})], TINY, TH) == []
    nan = detect_divergence(records[:2] + [Record(30, {"loss": math.inf})], TINY, TH)
    assert "loss is inf" in nan[0].evidence
    scales = [Record(u, {"loss_scale": s}) for u, s in ((10, 0.5), (20, 1e-3), (30, 5e-4), (40, 1e-4))]
    [floor] = detect_divergence(scales, TINY, TH)
    assert "loss scale 0.0001" in floor.evidence and any("common.amp" in c for c in floor.causes)
    assert detect_divergence(scales[:3], TINY, TH) == []  # 0.5 still in the last 3


def test_blank_past_the_frozen_phase_only():
    run = RunSettings(freeze_finetune_updates=100)
    frozen = [Record(100, {"hyp_len": 5.0, "uer": 95.0}, "valid_fi")]
    assert detect_blank(frozen, run, TH) == []
    [finding] = detect_blank([Record(150, {"hyp_len": 5.0, "uer": 95.0}, "valid_fi")], run, TH)
    assert "valid_fi: the hypotheses hold 5 symbols per 100" in finding.evidence
    assert "50 updates past it (model.freeze_finetune_updates=100)" in finding.causes[0]
    assert detect_blank([Record(150, {"hyp_len": 25.0, "uer": 95.0})], run, TH) == []
    # stock logs: uer alone, from 90 to 100 (deletions); 150 is garbage, not blanks
    assert detect_blank([Record(150, {"uer": 100.0})], run, TH)[0].key == "blank"
    assert detect_blank([Record(150, {"uer": 150.0})], run, TH) == []


def test_monitor_warns_once_and_keeps_the_flag_while_it_fires():
    monitor = HealthMonitor(TH, TINY)
    new = [monitor.add_train(r) for r in train_records([0.05] * 8)]
    assert [len(n) for n in new] == [0] * 5 + [1, 0, 0]  # first at update 60, then silent
    assert list(monitor.firing) == ["chance"]
    for update in (90, 100, 110):
        monitor.add_train(Record(update, {"accuracy": 0.5, "lr": 1e-4}))
    assert monitor.firing == {}  # it left chance


SIMPLE = """\
[2024-01-01 00:00:00,000][fairseq_cli.train][INFO] - {'_name': None, 'model': {'_name': 'wav2vec2', 'num_negatives': 20, 'cross_sample_negatives': 0, 'quantize_targets': True, 'latent_vars': 32, 'latent_groups': 2, 'extractor_mode': default, 'activation_fn': gelu}, 'task': {'normalize': False}}
"""
FAIRSEQ_TRAIN = "2024-01-01 00:00:00 | INFO | train_inner | epoch 001:     {u} / 9 loss={loss}, accuracy={a}, code_perplexity=30, num_updates={u}, lr={lr}, gnorm=0.5\n"
JSON_VALID = '[2024-01-01 00:00:00,000][valid_fi][INFO] - {{"epoch": 1, "valid_fi_loss": "50", "valid_fi_uer": "{uer}", "valid_fi_num_updates": "{u}"}}\n'


def test_log_reader_reads_both_entry_points_and_both_formats(tmp_path):
    lines = SIMPLE + "".join(FAIRSEQ_TRAIN.format(u=u, loss=4.4, a=0.05, lr=min(u, 20) * 1e-5) for u in range(10, 80, 10))
    lines += JSON_VALID.format(uer=100, u=70)
    path = tmp_path / "train.log"
    path.write_text(lines)
    log = read_run(str(path))
    assert [phase for phase, _ in log.events] == ["train"] * 7 + ["valid"]
    assert log.events[0][1].values == {"loss": 4.4, "accuracy": 0.05, "code_perplexity": 30,
                                       "num_updates": 10, "lr": 1e-4, "gnorm": 0.5}
    assert log.events[-1][1] == Record(70, {"epoch": 1, "loss": 50, "uer": 100, "num_updates": 70}, "valid_fi")
    assert log.config["model"]["extractor_mode"] == "default"
    chance, collapse, divergence, blank = judge(log, TH, RunSettings(negatives=20, codebook=64))
    assert (chance.status, chance.findings[0].update) == ("FIRED", 60)
    assert (collapse.status, divergence.status, blank.status) == ("ok", "ok", "FIRED")


def test_config_read_whichever_group_it_prints_first(tmp_path):
    """The plugin's configs compose task_options first: fairseq prints {'task': ..., '_name': ...}."""
    path = tmp_path / "train.log"
    task_first = SIMPLE.replace("{'_name': None, ", "{'task': {'health_chance': True}, '_name': None, ")
    path.write_text(task_first.replace(", 'task': {'normalize': False}}", "}")
                    + FAIRSEQ_TRAIN.format(u=10, loss=4.4, a=0.05, lr=1e-4))
    config = read_run(str(path)).config
    assert config["model"]["num_negatives"] == 20 and config["task"] == {"health_chance": True}


def test_config_print_with_bare_choice_values():
    assert config_dict("{'a': gelu, 'b': {'c': None, 'd': [1, 2]}}") == {"a": "gelu", "b": {"c": None, "d": [1, 2]}}


def test_not_a_log(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("nothing here\n")
    with pytest.raises(LogError, match="notes.txt: no fairseq train_inner"):
        read_run(str(path))


def test_cli_exit_status_2_names_what_it_could_not_read(tmp_path, capsys):
    from xlsr_plugin.health.__main__ import main

    assert main([str(tmp_path / "missing.log")]) == 2
    assert f"error: {tmp_path / 'missing.log'}: no such file or folder" in capsys.readouterr().err
    assert main([str(tmp_path)]) == 2  # a folder without TensorBoard event files
    assert "no TensorBoard event files under" in capsys.readouterr().err
