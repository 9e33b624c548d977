"""python -m xlsr_plugin.report on hand-written fairseq-generate outputs."""
import json
import subprocess
import sys

GEN_FI = """2026-01-01 00:00:00 | INFO | fairseq_cli.generate | loading model(s)
T-1\ta b | c
H-1\t-3.2\ta x | c d
D-1\t-3.2\ta x | c d
P-1\t-1.0 -1.0 -1.0 -1.0
T-0\ta b
H-0\t-1.0\tb
D-0\t-1.0\tb
Generate test_fi with beam=5: PER: 60.00 (3 errors / 5 reference units, 2 utterances)
"""
GEN_SW = """T-0\tm a j i
H-0\t-2.0\tm a j i
Generate test_sw with beam=5: PER: 0.00 (0 errors / 4 reference units, 1 utterances)
"""


def test_report_table_and_json(tmp_path):
    (tmp_path / "fi.txt").write_text(GEN_FI)
    (tmp_path / "sw.txt").write_text(GEN_SW)
    out = tmp_path / "report.json"
    proc = subprocess.run(
        [sys.executable, "-m", "xlsr_plugin.report", str(tmp_path / "fi.txt"),
         str(tmp_path / "sw.txt"), "--json", str(out)],
        capture_output=True, text=True, check=True,
    )
    # fi: utt 1 a->a, b->x (S), c=c, +d (I); utt 0 a deleted (D), b=b: 3 errors / 5 phones
    assert "| fi | 2 | 60.00 | 1 | 1 | 1 | 5 |" in proc.stdout
    assert "| sw | 1 | 0.00 | 0 | 0 | 0 | 4 |" in proc.stdout
    assert "| all | 3 | 33.33 | 1 | 1 | 1 | 9 |" in proc.stdout
    report = json.loads(out.read_text())
    assert report["metric"] == "PER"
    assert [r["language"] for r in report["languages"]] == ["fi", "sw", "all"]
    assert report["languages"][0]["substitutions"] == 1


def test_language_prefix_and_character_units(tmp_path):
    from xlsr_plugin.report import as_rows, build_report

    (tmp_path / "g.txt").write_text("T-0\tk i s s a |\nH-0\t-1\tk i s a |\nGenerate test with beam=5: CER: 20.00\n")
    table, unit = build_report([f"ka={tmp_path / 'g.txt'}"])
    assert unit == "char"
    assert as_rows(table) == [{"language": "ka", "utterances": 1, "error_rate": 20.0,
                               "substitutions": 0, "deletions": 1, "insertions": 0,
                               "reference_units": 5}]


def report(tmp_path, capsys, *files):
    """The report's main() over {name: text} files, in this process (the CLI's own process is
    tested above): (exit status, stdout, stderr)."""
    from xlsr_plugin.report import main

    paths = []
    for name, text in files:
        (tmp_path / name).write_text(text, encoding="utf-8")
        paths.append(str(tmp_path / name))
    try:
        main(paths)
        status = 0
    except SystemExit as exit:
        status = exit.code
    out = capsys.readouterr()
    return status, out.out, out.err


def test_hypothesis_without_final_boundary_scores_zero(tmp_path, capsys):
    ka = ("T-0\tწ მ ი ნ დ ა |\nH-0\t-1.0\tწ მ ი ნ დ ა\nD-0\t-1.0\tწ მ ი ნ დ ა\n"
          "Generate test_ka with beam=5: CER: 0.00 (0 errors / 6 reference units, 1 utterances)\n")
    assert "| ka | 1 | 0.00 | 0 | 0 | 0 | 6 |" in report(tmp_path, capsys, ("ka.txt", ka))[1]


def test_units_follow_the_score_line(tmp_path, capsys):
    """Scored without word boundaries, `kissa talo` -> `kissatalo` is no error (9 characters);
    with them it is 1 deletion over 10 units."""
    lines = "T-0\tk i s s a | t a l o |\nD-0\t-1.0\tk i s s a t a l o |\n"
    ignored = lines + ("Generate test_fi with beam=5: CER: 0.00 (0 errors / 9 reference units, "
                       "1 utterances; word boundaries ignored)\n")
    assert "| fi | 1 | 0.00 | 0 | 0 | 0 | 9 |" in report(tmp_path, capsys, ("a.txt", ignored))[1]
    counted = lines + ("Generate test_fi with beam=5: CER: 10.00 (1 errors / 10 reference units, "
                       "1 utterances)\n")
    assert "| fi | 1 | 10.00 | 0 | 1 | 0 | 10 |" in report(tmp_path, capsys, ("b.txt", counted))[1]
    status, _, err = report(tmp_path, capsys, ("c.txt", counted.replace("(1 errors", "(2 errors")))
    assert status == 1
    assert "c.txt: the score line counts 2 errors / 10 units, its T-/D- lines give 1 / 10" in err


def test_rows_by_subset_and_no_utterance_twice(tmp_path, capsys):
    every = ("T-0\ta b\nD-0\t-1\ta b\nT-2\tm a\nD-2\t-1\tm\n"
             "Generate test with beam=5: PER: 25.00 (1 errors / 4 reference units, 2 utterances)\n")
    assert "| test | 2 | 25.00 | 0 | 1 | 0 | 4 |" in report(tmp_path, capsys, ("test.txt", every))[1]
    status, _, err = report(tmp_path, capsys, ("test.txt", every), ("fi.txt", GEN_FI))
    assert status == 1 and "test.txt (test) and " in err
    assert "fi.txt (test_fi) hold the same utterances: they would count twice" in err
    status, _, err = report(tmp_path, capsys, ("fi.txt", GEN_FI), ("again.txt", GEN_FI))
    assert status == 1 and "hold the same utterances" in err


def test_shards_of_one_subset_add_up_and_the_best_hypothesis_counts(tmp_path, capsys):
    """Two shards (disjoint ids) of test_fi; --nbest 2 prints the scored hypothesis first."""
    first = ("T-0\ta b\nH-0\t-1\ta b\nD-0\t-1\ta b\nH-0\t-2\tb\nD-0\t-2\tb\n"
             "Generate test_fi with beam=5: PER: 0.00 (0 errors / 2 reference units, 1 utterances)\n")
    second = ("T-1\tc\nD-1\t-1\tx\n"
              "Generate test_fi with beam=5: PER: 100.00 (1 errors / 1 reference units, 1 utterances)\n")
    rows = report(tmp_path, capsys, ("0.txt", first), ("1.txt", second))[1]
    assert "| fi | 2 | 33.33 | 1 | 0 | 0 | 3 |" in rows


def test_splits_that_hold_others():
    from xlsr_plugin.report import covers

    assert covers("test", "test_fi") and covers("test_fi", "test_mls_fi") and covers("train", "train_1h_fi")
    assert not covers("test_fi", "test_sw") and not covers("test_fi", "test") and not covers("valid", "test_fi")
    assert not covers("test", "test_other")  # another split
