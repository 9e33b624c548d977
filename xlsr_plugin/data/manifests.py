"""Finding and reading the per-language manifests of a DATA folder (layout in the README).

DATA/<lang>/<split>.tsv is fairseq's manifest: line 1 the root folder, then
`relative/path<TAB>frames`. With corpora, each corpus is such a DATA folder of its own:
DATA/<corpus>/<lang>/<split>.tsv. Errors name the file and the line, which FileAudioDataset's own
asserts do not.
"""
import os
from typing import List, Optional, Sequence, Tuple

from xlsr_plugin.data.checked_audio import CheckedFileAudioDataset


class ManifestError(ValueError):
    """A manifest that is missing, empty or malformed."""


def language_folder(data: str, lang: str, corpus: str = "") -> str:
    """DATA/<lang>, or DATA/<corpus>/<lang> for one corpus of several."""
    return os.path.join(data, corpus, lang) if corpus else os.path.join(data, lang)


def manifest_path(data: str, lang: str, split: str, corpus: str = "") -> str:
    return os.path.join(language_folder(data, lang, corpus), f"{split}.tsv")


def discover_languages(data: str, split: Optional[str] = None) -> List[str]:
    """Sorted language folders of DATA (those holding `split`.tsv, or any manifest)."""
    if not os.path.isdir(data):
        raise ManifestError(f"data folder {data} does not exist")
    langs = []
    for name in sorted(os.listdir(data)):
        folder = os.path.join(data, name)
        if not os.path.isdir(folder):
            continue
        if split is not None:
            if os.path.isfile(manifest_path(data, name, split)):
                langs.append(name)
        elif any(f.endswith(".tsv") for f in os.listdir(folder)):
            langs.append(name)
    return langs


def discover_corpus_languages(data: str, corpora: Sequence[str], split: Optional[str] = None) -> List[str]:
    """Sorted union of the language folders of the corpora (DATA itself when there are none)."""
    if not corpora:
        return discover_languages(data, split)
    return sorted({lang for corpus in corpora
                   for lang in discover_languages(os.path.join(data, corpus), split)})


def parse_split(
    data: str, split: str, langs: Sequence[str], corpora: Sequence[str] = ()
) -> Tuple[str, List[str], List[str]]:
    """(manifest name, languages, corpora) of a split name: `valid_fi` -> ("valid", ["fi"], all
    corpora), `valid_mls_fi` -> ("valid", ["fi"], ["mls"]), `train_1h` -> ("train_1h", langs, all).
    Without corpora, the corpus list is [""] (DATA itself)."""
    corpora = list(corpora) or [""]
    base, _, lang = split.rpartition("_")
    if base and lang in langs:
        stem, _, corpus = base.rpartition("_")
        if stem and corpus and corpus in corpora:
            return stem, [lang], [corpus]
        if any(os.path.isfile(manifest_path(data, lang, base, c)) for c in corpora):
            return base, [lang], corpora
    return split, list(langs), corpora


def read_manifest(path: str) -> Tuple[str, List[Tuple[str, int]]]:
    """(root folder, [(relative path, frames)]) of a fairseq manifest; a line that is not
    ``relative/path<TAB>frames`` is a ManifestError naming the file and the line."""
    with open(path, encoding="utf-8") as f:
        root = f.readline().rstrip("\n")
        return root, [_manifest_row(path, number, line) for number, line in enumerate(f, start=2)]


def _manifest_row(path: str, number: int, line: str) -> Tuple[str, int]:
    fields = line.rstrip("\n").split("\t")
    if len(fields) != 2 or not fields[1].strip().isdigit():
        raise ManifestError(f"{path}, line {number}: expected 'relative/path<TAB>frames', "
                            f"found {line.rstrip()!r}")
    return fields[0], int(fields[1])


def find_malformed_line(path: str) -> Optional[str]:
    """A description of the first malformed line of a manifest, or None."""
    try:
        read_manifest(path)
    except ManifestError as error:
        return str(error)
    return None


def check_manifest_root(path: str) -> None:
    with open(path, encoding="utf-8") as f:
        root = f.readline().strip()
    if not root:
        raise ManifestError(f"{path}, line 1: empty manifest (line 1 must be the audio root folder)")
    if not os.path.isdir(root):
        raise ManifestError(f"{path}, line 1: audio root folder {root} does not exist")


def load_audio_manifest(path: str, lang: str, **dataset_kwargs) -> CheckedFileAudioDataset:
    """FileAudioDataset of one language's manifest, with errors that name the file and line
    (also those of its audio files, read later)."""
    if not os.path.isfile(path):
        raise ManifestError(f"language {lang!r}: manifest {path} not found")
    check_manifest_root(path)
    try:
        dataset = CheckedFileAudioDataset(path, **dataset_kwargs)
    except (AssertionError, ValueError) as error:
        raise ManifestError(find_malformed_line(path) or f"{path}: {error}") from error
    if len(dataset) == 0:
        raise ManifestError(
            f"language {lang!r}: {path} lists no utterances"
            + (f" of at least {dataset.min_sample_size} frames" if dataset.min_sample_size else "")
        )
    return dataset


def hours_of(dataset) -> float:
    return float(dataset.sizes.sum()) / dataset.sample_rate / 3600.0
