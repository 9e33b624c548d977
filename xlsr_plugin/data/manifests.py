"""Finding and reading the per-language manifests of a DATA folder (layout in the README).

DATA/<lang>/<split>.tsv is fairseq's manifest: line 1 the root folder, then
`relative/path<TAB>frames`. Errors name the file and the line, which FileAudioDataset's own
asserts do not.
"""
import os
from typing import List, Optional, Sequence, Tuple

from fairseq.data import FileAudioDataset


class ManifestError(ValueError):
    """A manifest that is missing, empty or malformed."""


def manifest_path(data: str, lang: str, split: str) -> str:
    return os.path.join(data, lang, f"{split}.tsv")


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


def split_and_languages(data: str, split: str, langs: Sequence[str]) -> Tuple[str, List[str]]:
    """`valid_fi` -> ("valid", ["fi"]); `train_1h` -> ("train_1h", langs)."""
    base, _, suffix = split.rpartition("_")
    if base and suffix in langs and os.path.isfile(manifest_path(data, suffix, base)):
        return base, [suffix]
    return split, list(langs)


def find_malformed_line(path: str) -> Optional[str]:
    """A description of the first malformed line of a manifest, or None."""
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if number == 1:
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 2 or not fields[1].strip().isdigit():
                return (
                    f"{path}, line {number}: expected 'relative/path<TAB>frames', "
                    f"found {line.rstrip()!r}"
                )
    return None


def check_manifest_root(path: str) -> None:
    with open(path, encoding="utf-8") as f:
        root = f.readline().strip()
    if not root:
        raise ManifestError(f"{path}, line 1: empty manifest (line 1 must be the audio root folder)")
    if not os.path.isdir(root):
        raise ManifestError(f"{path}, line 1: audio root folder {root} does not exist")


def load_audio_manifest(path: str, lang: str, **dataset_kwargs) -> FileAudioDataset:
    """FileAudioDataset of one language's manifest, with errors that name the file and line."""
    if not os.path.isfile(path):
        raise ManifestError(f"language {lang!r}: manifest {path} not found")
    check_manifest_root(path)
    try:
        dataset = FileAudioDataset(path, **dataset_kwargs)
    except (AssertionError, ValueError) as error:
        raise ManifestError(find_malformed_line(path) or f"{path}: {error}") from error
    if len(dataset) == 0:
        raise ManifestError(
            f"language {lang!r}: {path} lists no utterances"
            + (f" of at least {dataset.min_sample_size} frames" if dataset.min_sample_size else "")
        )
    return dataset


def hours_of(dataset: FileAudioDataset) -> float:
    return float(dataset.sizes.sum()) / dataset.sample_rate / 3600.0
