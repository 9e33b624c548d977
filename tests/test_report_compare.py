"""python -m xlsr_plugin.report --compare on hand-written fairseq-generate outputs."""
import json
import subprocess
import sys


def generate_output(subset, refs, hyps):
    lines = [f"T-{i}\t{r}\nH-{i}\t-1.0\t{h}\nD-{i}\t-1.0\t{h}" for i, (r, h) in enumerate(zip(refs, hyps))]
    return "\n".join(lines) + f"\nGenerate {subset} with beam=5: PER: 0.00\n"


def write(folder, name, text):
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return str(folder / name)


def report(*args):
    return subprocess.run([sys.executable, "-m", "xlsr_plugin.report", *args],
                          capture_output=True, text=True)


def test_compare_by_hand(tmp_path):
    fi_refs, sw_refs = ["a b | c", "d e"], ["m a j i"]
    a = [write(tmp_path / "A", "fi.txt", generate_output("test_fi", fi_refs, ["a b | c", "d"])),
         write(tmp_path / "A", "sw.txt", generate_output("test_sw", sw_refs, ["m a j i"]))]
    b = [write(tmp_path / "B", "fi.txt", generate_output("test_fi", fi_refs, ["a x", "d e"])),
         write(tmp_path / "B", "sw.txt", generate_output("test_sw", sw_refs, ["m a j"]))]
    out = tmp_path / "compare.json"
    proc = report(*a, "--compare", *b, "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    rows = {r["language"]: r for r in json.loads(out.read_text())["comparison"]}
    # fi: A 1 error (e deleted) / 5 phones, B 2 (b->x, c deleted) / 5; sw: A 0 / 4, B 1 / 4
    assert (rows["fi"]["rate_a"], rows["fi"]["rate_b"]) == (20, 40)
    assert (rows["sw"]["rate_a"], rows["sw"]["rate_b"], rows["sw"]["difference"]) == (0, 25, -25)
    assert round(rows["all"]["difference"], 2) == -22.22  # 1/9 - 3/9
    # sw has one utterance, where A is always better: its interval is the point -25
    assert rows["sw"]["low"] == rows["sw"]["high"] == -25 and rows["sw"]["verdict"] == "better"
    # fi: A is better on utterance 0 (0 vs 2 errors), worse on 1 (1 vs 0): a resample of two
    # utterance 1s makes A worse, so the interval crosses 0 while A wins most resamples.
    assert rows["fi"]["low"] < 0 < rows["fi"]["high"] and rows["fi"]["verdict"] == "not distinguishable"
    assert rows["all"]["low"] <= rows["all"]["difference"] <= rows["all"]["high"]
    assert rows["all"]["p_a_better"] > 0.5
    assert "| sw | 1 | 1/1 | 0.00 | 25.00 | -25.00 | [-25.00, -25.00] | 1.000 | better |" in proc.stdout


def test_compare_refuses_other_utterances(tmp_path):
    a = write(tmp_path / "A", "fi.txt", generate_output("test_fi", ["a b"], ["a b"]))
    b = write(tmp_path / "B", "fi.txt", generate_output("test_fi", ["a c"], ["a c"]))
    proc = report(a, "--compare", b)
    assert proc.returncode != 0
    assert "fi: A and B hold other references" in proc.stderr
    c = write(tmp_path / "B", "sw.txt", generate_output("test_sw", ["a b"], ["a b"]))
    assert "A has ['fi'], B ['sw']" in report(a, "--compare", c).stderr
