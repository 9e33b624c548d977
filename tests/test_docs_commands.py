"""Every ```bash block of README.md, docs/*.md and examples/xlsr10_mini/*.md, run as a user types
it, at toy size: the documentation cannot rot unnoticed.

Each block runs in a fresh folder laid out like a checkout (its config/, manifests/, xlsr_plugin/,
bench/ and examples/ linked) that holds tiny stand-ins under the names the docs use: synthetic
releases (`cv-corpus-5.1-2020-06-22`, `MLS_DIR`, `IARPA_BABEL_OP3_404`, `my_recordings`), a `DATA`
folder prepared from the first by the documented command (left out for blocks that prepare their
own), `PRETRAINED.pt` (conftest's 4-update xlsr_tiny run) and `FINETUNED.pt` (ctc_tiny on DATA).
Each command runs in its own bash process; the one change to a command is that
fairseq-hydra-train stops after 2 updates (an explicit `optimization.max_update=N` becomes 3), so a
run costs seconds. Each command is checked by what its user reads: the printed table and the
manifests it counts, the score line (its PER recounted from the printed T-/H- lines) and one
hypothesis per test utterance, the files written.

A block with a `# needs: <what>` line (real data, a GPU, an hour) is skipped with that reason. A
command this file has no check for fails the test: check it here or mark its block.
"""
import glob
import itertools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import editdistance
import pytest
import torch

from _run_outputs import one_thread_env

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md")),
         *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "examples").rglob("*.md"))]
CHECKOUT = ("config", "manifests", "xlsr_plugin", "bench", "examples")
RELEASES = ("cv-corpus-5.1-2020-06-22", "MLS_DIR", "IARPA_BABEL_OP3_404", "my_recordings")
TRAIN_UPDATES, RESUMED_UPDATES = 2, 3


def blocks():
    """(page, line, text) of every ```bash block."""
    found = []
    for page in PAGES:
        lines = (ROOT / page).read_text(encoding="utf-8").splitlines()
        start = None
        for number, line in enumerate(lines, 1):
            if start is None and line.strip() == "```bash":
                start = number
            elif start is not None and line.strip() == "```":
                found.append((page, start, "\n".join(lines[start:number - 1])))
                start = None
    return found


def commands(text):
    """The block's commands: continuation lines joined, comment lines and trailing comments dropped."""
    joined = re.sub(r"\s*\\\n\s*", " ", text)
    lines = (re.sub(r"\s+#\s.*$", "", line).strip() for line in joined.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def needs(text):
    match = re.search(r"^\s*# needs: (.+)$", text, re.M)
    return match and match.group(1)


def case(page, line, text):
    marks = [pytest.mark.skip(reason=f"needs: {needs(text)}")] if needs(text) else []
    return pytest.param(text, id=f"{page}:{line}", marks=marks)


# --- the stand-ins -------------------------------------------------------------------------------

def bash(command, cwd):
    env = one_thread_env(PWD=str(cwd), PYTHONPATH=os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        PATH=os.pathsep.join([os.path.dirname(sys.executable), os.environ["PATH"]]))
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True)


def succeeded(proc, command, statuses=(0,)):
    assert proc.returncode in statuses, f"`{command}` exited {proc.returncode}:\n{(proc.stdout + proc.stderr)[-5000:]}"
    return proc.stdout + proc.stderr


def link_checkout(folder):
    for name in CHECKOUT:
        (folder / name).symlink_to(ROOT / name)


@pytest.fixture(scope="session")
def stand_ins(tmp_path_factory, pretrained_checkpoint):
    from xlsr_plugin.synthetic import make_audio_dir, make_babel_pack, make_commonvoice_release, make_mls_release
    base = tmp_path_factory.mktemp("docs_stand_ins")
    link_checkout(base)
    make_commonvoice_release(base / RELEASES[0], {"fi": 12, "sv-SE": 12}, seed=0)
    make_mls_release(base / RELEASES[1], {"polish": 4, "portuguese": 4}, seed=1)
    make_babel_pack(base / RELEASES[2], "ka", recordings={"training": 3, "dev": 1}, segments_per_recording=4)
    make_audio_dir(base / RELEASES[3], "fi", n_files=6)
    prepare = f"python manifests/commonvoice.py --root {RELEASES[0]} --langs fi,sv-SE --dest DATA"
    succeeded(bash(prepare, base), prepare)
    shutil.copy(pretrained_checkpoint, base / "PRETRAINED.pt")
    finetune = (f"fairseq-hydra-train --config-dir config/finetuning --config-name ctc_tiny "
                f"task.data={base}/DATA task.langs=[fi,sv] model.w2v_path={base}/PRETRAINED.pt "
                f"checkpoint.save_dir={base}/finetuned optimization.max_update={TRAIN_UPDATES}")
    succeeded(bash(finetune, base), finetune)
    shutil.copy(base / "finetuned" / "checkpoint_best.pt", base / "FINETUNED.pt")
    return base


def sandbox(stand_ins, folder, with_data):
    link_checkout(folder)
    for name in (*RELEASES, "PRETRAINED.pt", "FINETUNED.pt"):
        (folder / name).symlink_to(stand_ins / name)
    if with_data:
        shutil.copytree(stand_ins / "DATA", folder / "DATA")
    return folder


# --- what each command's user reads --------------------------------------------------------------

def option(words, name):
    """The value of `--name VALUE` or `name=VALUE`."""
    for i, word in enumerate(words):
        if word == name and i + 1 < len(words):
            return words[i + 1]
        if word.startswith(name + "="):
            return word.split("=", 1)[1]
    return None


def check_release(words, out, folder):
    """python -c "...make_*_release('NAME', ...)": the release folder is there."""
    name = re.search(r"\(\s*'([^']+)'", words[2]).group(1)
    assert any((folder / name).iterdir()), f"{name} is empty"


def check_manifests(words, out, folder):
    """Each row of the printed table (lang, split, kept) has its manifest with `kept` rows."""
    rows = re.findall(r"^(\S+)\s+(\S+)\s+(\d+)\s+[\d.]+", out.split("lang  split", 1)[1], re.M)
    assert rows, f"no table in the output:\n{out[-2000:]}"
    dest = folder / option(words, "--dest")
    for lang, split, kept in rows:
        manifest = (dest / lang / f"{split}.tsv").read_text().splitlines()
        assert len(manifest) == int(kept) + 1, (lang, split)


def checkpoint_folder(words, folder):
    """Where the docs say a run's checkpoints go: checkpoint.save_dir, else checkpoints/<config>/."""
    return folder / (option(words, "checkpoint.save_dir") or f"checkpoints/{option(words, '--config-name')}")


def check_train(words, out, folder, resumed=False):
    """fairseq-hydra-train: done, its checkpoint where the docs say, the validation subsets it
    names logged, a relaunch resuming, TensorBoard events where it points them."""
    if "--cfg" in words:
        task = "xlsr_pretraining" if "pretraining" in option(words, "--config-dir") else "xlsr_finetuning"
        assert f"_name: {task}" in out and f"data: {option(words, 'task.data')}" in out
        return
    assert "done training" in out
    assert (checkpoint_folder(words, folder) / "checkpoint_last.pt").is_file()
    assert not resumed or "Loaded checkpoint" in out
    for subset in (option(words, "dataset.valid_subset") or "").strip("'").split(","):
        assert not subset or f"valid on '{subset}' subset" in out
    logdir = option(words, "common.tensorboard_logdir")
    assert not logdir or glob.glob(f"{folder / logdir}/**/events.out.tfevents.*", recursive=True)


def phones(line):
    """The units PER counts: space-separated phones, without `|` and `<...>` units (docs/finetuning.md)."""
    return [unit for unit in line.split() if unit != "|" and not re.fullmatch(r"<[^<>\s|]+>", unit)]


def check_generate(words, out, folder):
    """The score line of --scoring, one hypothesis per utterance of the test manifest, and a PER
    whose errors and reference units are those of the printed T-/H- lines, counted here."""
    subset, scoring = option(words, "--gen-subset"), option(words, "--scoring").upper()
    results = option(words, "--results-path")
    text = (folder / results / f"generate-{subset}.txt").read_text() if results else out
    score = re.search(rf"Generate {subset} with beam=\d+: {scoring}: [\d.]+ \((\d+) errors / (\d+)", text)
    assert score, text[-2000:]
    lang = subset.split("_", 1)[1]
    utterances = len((folder / words[1] / lang / "test.tsv").read_text().splitlines()) - 1
    references = dict(re.findall(r"^T-(\d+)\t(.*)$", text, re.M))
    hypotheses = dict(re.findall(r"^H-(\d+)\t[^\t]*\t(.*)$", text, re.M))
    assert len(references) == len(hypotheses) == utterances
    if scoring == "PER":
        errors = sum(editdistance.eval(phones(references[i]), phones(hypotheses[i])) for i in references)
        units = sum(len(phones(line)) for line in references.values())
        assert (int(score.group(1)), int(score.group(2))) == (errors, units)


def check_report(words, out, folder):
    """Each language's row gives the rate its generate file's score line printed."""
    if "--compare" in words:
        return check_compare(words, out, folder)
    for path in glob.glob(str(folder / words[3])):
        subset, rate = re.search(r"Generate (\S+) with beam=\d+: \w+: ([\d.]+)", Path(path).read_text()).groups()
        assert re.search(rf"^\| {subset.split('_', 1)[1]} \| \d+ \| {rate} \|", out, re.M), out
    assert json.loads((folder / option(words, "--json")).read_text())


def phone_rate(paths):
    """{row: PER} recounted from the printed T-/H- lines of PER outputs (runs of a row pooled),
    with `all` over the rows when there are several."""
    counts = {}
    for path in paths:
        text = Path(path).read_text()
        subset = re.search(r"Generate (\S+) with beam=\d+: PER", text).group(1)
        references = dict(re.findall(r"^T-(\d+)\t(.*)$", text, re.M))
        hypotheses = dict(re.findall(r"^H-(\d+)\t[^\t]*\t(.*)$", text, re.M))
        row = counts.setdefault(subset.split("_", 1)[1], [0, 0])
        row[0] += sum(editdistance.eval(phones(references[i]), phones(hypotheses[i])) for i in references)
        row[1] += sum(len(phones(line)) for line in references.values())
    if len(counts) > 1:
        counts["all"] = [sum(e for e, _ in counts.values()), sum(n for _, n in counts.values())]
    return {row: 100 * e / n for row, (e, n) in counts.items()}


def check_compare(words, out, folder):
    """report A --compare B: a row per language of A, with A's and B's PER and A - B recounted
    from the printed lines, an interval holding the difference, and the JSON of the same rows."""
    split = words.index("--compare")
    b_words = list(itertools.takewhile(lambda w: not w.startswith("--"), words[split + 1:]))
    a_rate, b_rate = (phone_rate([p for w in ws for p in glob.glob(str(folder / w))])
                      for ws in (words[3:split], b_words))
    rows = re.findall(r"^\| (\S+) \| \d+ \| \d+/\d+ \| ([\d.]+) \| ([\d.]+) \| ([-+][\d.]+) \| "
                      r"\[([-+][\d.]+), ([-+][\d.]+)\] \|", out, re.M)
    assert sorted(row[0] for row in rows) == sorted(a_rate) == sorted(b_rate), out
    for lang, rate_a, rate_b, difference, low, high in rows:
        assert float(rate_a) == round(a_rate[lang], 2) and float(rate_b) == round(b_rate[lang], 2), out
        assert abs(float(difference) - (a_rate[lang] - b_rate[lang])) <= 0.005, out
        assert float(low) <= float(difference) <= float(high), out
    report = json.loads((folder / option(words, "--json")).read_text())
    assert [r["language"] for r in report["comparison"]] == [row[0] for row in rows]


def check_to_stock(words, out, folder):
    state = torch.load(folder / words[4], map_location="cpu", weights_only=False)
    assert state["cfg"]["model"]["_name"] == "wav2vec2"


def check_to_hf(words, out, folder):
    assert "check passed" in out
    assert {"config.json", "model.safetensors"} <= {p.name for p in (folder / words[4]).iterdir()}


def check_units(words, out, folder):
    report = json.loads((folder / option(words, "--out") / "units.json").read_text())
    assert sorted(report["languages"]) == sorted(option(words, "--langs").split(","))


def check_curves(words, out, folder):
    assert (folder / words[4]).read_bytes().startswith(b"\x89PNG")


def check_health(words, out, folder, status):
    """One verdict per detector, the exit status 1 exactly when one FIRED, and, for a text log,
    the training lines it counts are the log's train_inner lines."""
    verdicts = re.findall(r"^(chance|collapse|divergence|blank): (FIRED|ok|not judged): ", out, re.M)
    assert sorted(name for name, _ in verdicts) == ["blank", "chance", "collapse", "divergence"], out
    assert status == (1 if any(v == "FIRED" for _, v in verdicts) else 0), out
    counted = re.search(r"^\S+: (\d+) training lines, (\d+) validation lines", out, re.M)
    assert counted, out
    log = folder / words[3]
    if log.is_file():
        assert int(counted.group(1)) == log.read_text().count("[train_inner][INFO]"), out


CHECKS = {
    ("python", "-c"): check_release,
    ("python", "manifests/commonvoice.py"): check_manifests,
    ("python", "manifests/mls.py"): check_manifests,
    ("python", "manifests/babel.py"): check_manifests,
    ("python", "manifests/audio_dir.py"): check_manifests,
    ("fairseq-hydra-train",): check_train,
    ("fairseq-generate",): check_generate,
    ("python", "-m", "xlsr_plugin.report"): check_report,
    ("python", "-m", "xlsr_plugin.to_stock"): check_to_stock,
    ("python", "-m", "xlsr_plugin.to_hf"): check_to_hf,
    ("python", "-m", "xlsr_plugin.analysis.units"): check_units,
    ("python", "-m", "xlsr_plugin.analysis.tensorboard_curves"): check_curves,
    ("python", "-m", "xlsr_plugin.health"): check_health,
}
# Exit statuses a command may end with, besides 0: health's 1 says a detector fired.
STATUSES = {check_health: (0, 1)}


def check_for(words):
    for prefix, check in CHECKS.items():
        if tuple(words[:len(prefix)]) == prefix:
            return check
    pytest.fail(f"no check for `{' '.join(words)}`: add one to CHECKS in {Path(__file__).name} "
                f"or mark its block `# needs: ...`")


def toy_size(command):
    """fairseq-hydra-train stops after a few updates."""
    if not command.split()[0].endswith("fairseq-hydra-train") or "--cfg" in command:
        return command
    if "optimization.max_update=" in command:
        return re.sub(r"optimization\.max_update=\d+", f"optimization.max_update={RESUMED_UPDATES}", command)
    return f"{command} optimization.max_update={TRAIN_UPDATES}"


def without_env(words):
    while words and re.match(r"^[A-Z_]+=", words[0]):
        words = words[1:]
    return words


@pytest.mark.parametrize("block", [case(*b) for b in blocks()])
def test_documented_block(block, stand_ins, tmp_path):
    folder = sandbox(stand_ins, tmp_path, with_data="manifests/" not in block)
    for command in commands(block):
        words = without_env(shlex.split(command))
        check = check_for(words)
        training = check is check_train and "--cfg" not in words
        resumed = training and (checkpoint_folder(words, folder) / "checkpoint_last.pt").is_file()
        proc = bash(toy_size(command), folder)
        out = succeeded(proc, command, STATUSES.get(check, (0,)))
        if training:
            check(words, out, folder, resumed=resumed)
        elif check is check_health:
            check(words, out, folder, proc.returncode)
        else:
            check(words, out, folder)


def test_every_page_is_scanned():
    """The pages named in README's documentation table are the pages this test reads."""
    linked = set(re.findall(r"\]\((docs/[\w.]+\.md)\)", (ROOT / "README.md").read_text()))
    assert linked and linked <= set(PAGES)


def test_relative_links_resolve():
    """Every relative link of the pages points at a file of the repository."""
    broken = [(page, target) for page in PAGES
              for target in re.findall(r"\]\(([^)#]+)[^)]*\)", (ROOT / page).read_text(encoding="utf-8"))
              if "://" not in target and not (ROOT / page).parent.joinpath(target).exists()]
    assert not broken


def test_blocks_are_read_as_a_user_reads_them():
    """A `# needs:` line skips its block; continuation lines make one command, comments none; a
    command without a check fails rather than pass unchecked."""
    text = "# needs: a GPU\nfairseq-generate DATA \\\n    --gen-subset test_fi  # one language\n# a note\n"
    assert needs(text) == "a GPU" and needs("python -c 'x'") is None
    assert commands(text) == ["fairseq-generate DATA --gen-subset test_fi"]
    with pytest.raises(pytest.fail.Exception, match="no check for `frobnicate --all`"):
        check_for(["frobnicate", "--all"])
    assert toy_size("fairseq-hydra-train a=1") == f"fairseq-hydra-train a=1 optimization.max_update={TRAIN_UPDATES}"
    assert toy_size("fairseq-hydra-train optimization.max_update=300") == \
        f"fairseq-hydra-train optimization.max_update={RESUMED_UPDATES}"
