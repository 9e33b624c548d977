"""Run health end to end: tiny fairseq-hydra-train runs that fail the ways wav2vec 2.0 runs fail
(at chance, diverging, collapsing, all-blank fine-tuning) each warn once, naming the cause,
and flag health_<key>=1 in the log and TensorBoard; `python -m xlsr_plugin.health` gives the
same verdict from the log; a healthy run warns about nothing."""
import re
import subprocess
import sys

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from _pretraining_runs import ROOT, train_tiny
from _run_outputs import one_thread_env
from test_finetuning_e2e import finetune, write_finetuning_data
from xlsr_plugin.health.__main__ import main

WARNING = re.compile(r"\]\[xlsr_plugin\.health\]\[WARNING\] - health: (.*) \(health_(\w+)=1\) at update (\d+)")


def warnings(log):
    """(title, key, update) of every health warning, with the cause lines that follow it."""
    return [(m.group(1), m.group(2), int(m.group(3))) for m in WARNING.finditer(log)]


def health_cli(*args):
    """The command in a fresh process."""
    proc = subprocess.run([sys.executable, "-m", "xlsr_plugin.health", *map(str, args)], capture_output=True,
                          text=True, env=one_thread_env(PYTHONPATH=ROOT), cwd=ROOT)
    return proc.returncode, proc.stdout + proc.stderr


def health_main(capsys, *args):
    """The command's main in this process (its start-up, importing fairseq, costs ~4 s)."""
    code = main([str(arg) for arg in args])
    return code, capsys.readouterr().out


def first_lr(log):
    """The lr of update 1 (the peak: no warm-up, then polynomial decay)."""
    return re.search(r"\[train_inner\].* lr=([\d.]+),", log).group(1)


def saved_log(run, tmp_path):
    path = tmp_path / "train.log"
    path.write_text(run.log)
    return path


@pytest.fixture(scope="module")
def stuck(pretraining_data, tmp_path_factory):
    """xlsr_tiny's Base recipe (group norm), with a 4-update warm-up: chance judged from 8."""
    run_dir = tmp_path_factory.mktemp("stuck")
    return train_tiny(pretraining_data, run_dir, 12, "lr_scheduler.warmup_updates=4",
                      f"common.tensorboard_logdir={run_dir / 'tb'}"), run_dir / "tb"


def test_base_recipe_at_chance_warns_once_naming_the_layer_norm_recipe(stuck):
    run, _ = stuck
    [(title, key, update)] = warnings(run.log)
    assert (title, key) == ("pretraining at the contrastive chance level", "chance") and 8 <= update <= 12
    assert "chance 1/(K+1) = 1/21 = 0.0476" in run.log  # K = num_negatives 20
    assert "the Base recipe (group-norm feature encoder" in run.log and "fairseq#3315" in run.log
    assert "model.extractor_mode=layer_norm model.layer_norm_first=true" in run.log
    assert "See docs/troubleshooting.md#pretraining-at-chance" in run.log
    flagged = [int(u) for u in re.findall(r"\[train_inner\].*num_updates=(\d+),.*health_chance=1", run.log)]
    assert flagged == list(range(update, 13))  # every log line from the warning on
    assert re.search(r"\[train\]\[INFO\] - epoch \d+ \|.* health_chance 1", run.log)  # epoch summary


def test_flag_in_tensorboard_and_same_verdict_from_the_log_and_the_folder(stuck, tmp_path, capsys):
    run, tb = stuck
    [(_, _, update)] = warnings(run.log)
    events = EventAccumulator(str(tb / "train_inner"))
    events.Reload()
    assert [(p.step, p.value) for p in events.Scalars("health_chance")] == [(u, 1.0) for u in range(update, 13)]
    code, out = health_cli(saved_log(run, tmp_path))
    assert code == 1 and "chance: FIRED: still firing at the end (health_chance)" in out
    assert f"(health_chance=1) at update {update}:" in out and "collapse: ok" in out
    # TensorBoard holds no configuration: K and the codebook size are given
    code, out = health_main(capsys, tb, "--negatives", 20, "--codebook", 64)
    assert code == 1 and f"(health_chance=1) at update {update}:" in out


def test_learning_rate_that_gives_an_infinite_loss_is_named_before_fairseq_stops(pretraining_data, tmp_path, capsys):
    run = train_tiny(pretraining_data, tmp_path / "run", 4, "optimization.lr=[100.0]",
                     "lr_scheduler.warmup_updates=0", check=False)
    assert run.returncode != 0 and "FloatingPointError: gradients are Nan/Inf" in run.log
    assert warnings(run.log) == [("training diverges", "divergence", 2)]
    assert "update 2: loss is inf. Likely causes" in run.log
    lr = first_lr(run.log)
    assert f"- the learning rate is too high (peak logged lr {lr}): lower optimization.lr" in run.log
    code, out = health_main(capsys, saved_log(run, tmp_path))
    assert code == 1 and "divergence: FIRED" in out and "gnorm is nan" in out  # fairseq's error line


def test_codebook_collapse_at_a_high_learning_rate(pretraining_data, tmp_path):
    """lr 1.0: every frame picks one of a few codewords (code_perplexity ~2 of 64), every
    distractor equals its target and the accuracy is 1."""
    run = train_tiny(pretraining_data, tmp_path / "run", 6, "optimization.lr=[1.0]", "lr_scheduler.warmup_updates=0")
    found = {key: update for _, key, update in warnings(run.log)}
    assert "collapse" in found and set(found) <= {"collapse", "divergence"}
    perplexity = re.search(r"code_perplexity ([\d.]+) \(highest of the last 3 logs\) of a codebook of 64", run.log)
    assert perplexity and float(perplexity.group(1)) < 0.05 * 64
    logged = [float(p) for p in re.findall(r"\[train_inner\].* code_perplexity=([\d.]+),.*num_updates=(?:%d|%d|%d)," % (
        found["collapse"] - 2, found["collapse"] - 1, found["collapse"]), run.log)]
    assert max(logged) == float(perplexity.group(1))  # the evidence is the logged values
    assert f"- the learning rate is too high (peak logged lr {first_lr(run.log)})" in run.log
    assert "criterion.loss_weights" in run.log


@pytest.fixture(scope="module")
def finetuning_data(tmp_path_factory):
    data = str(tmp_path_factory.mktemp("health_finetuning") / "data")
    write_finetuning_data(data)
    return data


def test_fine_tuning_too_fast_to_leave_blank_warns_after_the_frozen_phase(
        finetuning_data, pretrained_checkpoint, tmp_path):
    """lr 0.05 for 6 updates, the Transformer frozen for 2, validation every 2 updates."""
    _, log = finetune(finetuning_data, pretrained_checkpoint, str(tmp_path), "optimization.lr=[0.05]",
                      "optimization.max_update=6", "dataset.validate_interval=1000",
                      "dataset.validate_interval_updates=2", "checkpoint.save_interval=1000",
                      f"common.tensorboard_logdir={tmp_path / 'tb'}")
    [(title, key, update)] = warnings(log)
    assert (title, key) == ("fine-tuning outputs only blanks", "blank") and update in (4, 6)
    valid = re.findall(r"\[(valid_\w+)\]\[INFO\] - .*\| hyp_len ([\d.]+) \|.*num_updates (\d+)(.*)", log)
    first = next(v for v in valid if int(v[2]) == update)
    assert float(first[1]) <= 20 and f"{first[0]}: the hypotheses hold {first[1]} symbols per 100" in log
    assert all(("health_blank 1" in rest) == (int(u) >= update) for _, _, u, rest in valid)
    events = EventAccumulator(str(tmp_path / "tb" / first[0]))
    events.Reload()
    assert [p.step for p in events.Scalars("health_blank")] == [u for u in (4, 6) if u >= update]
    assert "(model.freeze_finetune_updates=2): raise optimization.max_update" in log
    assert "optimization.lr" in log and "#fine-tuning-outputs-only-blanks" in log


def test_healthy_layer_norm_run_warns_about_nothing(pretraining_data, tmp_path, capsys):
    """xlsr_mini (the layer-norm recipe) leaves chance: accuracy ~0.13 at updates 40-50, over
    twice 1/21; chance is judged from update 40 (twice its 20-update warm-up)."""
    run = train_tiny(pretraining_data, tmp_path / "run", 50, "lr_scheduler.warmup_updates=20",
                     "common.log_interval=5", config="xlsr_mini")
    assert warnings(run.log) == [] and "health_" not in run.log.split("fairseq_cli.train][INFO] - XlsrModel")[-1]
    code, out = health_main(capsys, saved_log(run, tmp_path))
    assert code == 0
    for detector in ("chance", "collapse", "divergence"):
        assert f"{detector}: ok: 10 logged lines judged, up to update 50" in out
    assert "blank: not judged" in out
