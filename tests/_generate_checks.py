"""A fairseq-generate output against the label files, read independently of the plugin:
the printed references and the scored units and errors, recomputed with editdistance from the
README's definitions (PER: phones without `|`; CER: characters with one `|` between words; a
symbol the model's dictionary lacks is `<<unk>>`, one unit; other `<...>` symbols left out)."""
import os
import re

import editdistance

SCORER = {"phn": "per", "ltr": "cer"}
UNKNOWN = "<<unk>>"  # how fairseq-generate prints a reference symbol the dictionary lacks


def printed(stdout):
    """({id: T- line}, {id: first H- line's (score, text)}, (scorer, rate, errors, units))."""
    refs = {int(i): ref for i, ref in re.findall(r"^T-(\d+)\t(.*)$", stdout, re.M)}
    hyps = {}
    for i, score, hyp in re.findall(r"^H-(\d+)\t(\S+)\t(.*)$", stdout, re.M):
        hyps.setdefault(int(i), (score, hyp))
    line = re.search(r"^Generate \S+ with beam=\d+: (PER|CER): ([\d.]+) \((\d+) errors / "
                     r"(\d+) reference units", stdout, re.M)
    assert line, stdout[-2000:]
    return refs, hyps, (line[1], float(line[2]), int(line[3]), int(line[4]))


def label_lines(data, labels, langs, split="test"):
    lines = []
    for lang in langs:
        with open(os.path.join(data, lang, f"{split}.{labels}"), encoding="utf-8") as f:
            lines += f.read().splitlines()
    return lines


def model_symbols(data, labels, model_langs):
    """The README's dictionary of a model: its language's, or the union for several."""
    folder = os.path.join(data, model_langs[0]) if len(model_langs) == 1 else data
    with open(os.path.join(folder, f"dict.{labels}.txt"), encoding="utf-8") as f:
        return {line.split()[0] for line in f}


def as_printed(line, symbols):
    return " ".join(s if s in symbols else UNKNOWN for s in line.split())


def scored(symbol):
    """`<...>` symbols (a hypothesis's `<unk>`) are left out, the reference's `<<unk>>` is not."""
    return symbol == UNKNOWN or not (symbol.startswith("<") and symbol.endswith(">"))


def units(text, labels):
    """PER: the phones; CER: the characters with one `|` between words (`.ltr` form)."""
    if labels == "phn":
        return [s for s in text.split() if s != "|" and scored(s)]
    words = [[s for s in w.split() if scored(s)] for w in text.split("|")]
    words = [w for w in words if w]
    return [u for k, w in enumerate(words) for u in (["|"] if k else []) + w]


def check_against_labels(stdout, data, labels, model_langs, langs):
    """T- lines are the label lines (symbols outside the model's dictionary as <<unk>>, one
    unit each), id by id; the score line's units are the label files' units and its errors
    the printed hypotheses' edit distance to them. Returns the score line."""
    refs, hyps, score = printed(stdout)
    symbols = model_symbols(data, labels, model_langs)
    lines = label_lines(data, labels, langs)
    assert refs == {i: as_printed(line, symbols) for i, line in enumerate(lines)}
    assert score[0] == SCORER[labels].upper()
    assert score[3] == sum(len(units(line, labels)) for line in lines)
    assert score[2] == sum(editdistance.eval(units(refs[i], labels), units(hyps[i][1], labels))
                           for i in refs)
    return score
