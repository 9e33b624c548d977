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
