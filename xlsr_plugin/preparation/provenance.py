"""Which release wrote a language folder, so that a second release never overwrites the first,
and removal of the label files an earlier run wrote that the new one does not replace."""
from pathlib import Path
from typing import Mapping

from xlsr_plugin.preparation.conversion import atomic_write_text

SOURCE_FILE = "source.txt"
# What a run writes at the top of a language folder (manifests, labels, dictionaries).
WRITTEN = ("*.tsv", "*.wrd", "*.ltr", "*.phn", "dict.*.txt")


def release_of(lang_dir: Path):
    """The release recorded in ``lang_dir`` (None when there is none)."""
    path = Path(lang_dir) / SOURCE_FILE
    return path.read_text(encoding="utf-8").strip() if path.exists() else None


def _refusal(lang_dir: Path, source: str):
    recorded = release_of(lang_dir)
    if recorded is not None and recorded != source:
        return (f"{lang_dir} was written from {recorded}, not from {source}: one language "
                f"folder holds one release. Write each corpus to its own --dest (DATA/cv, "
                f"DATA/mls, DATA/babel) or delete {lang_dir} first.")
    if recorded is None and any(Path(lang_dir).glob("*.tsv")):
        return (f"{lang_dir} holds manifests that do not say which release they come from "
                f"(no {SOURCE_FILE}); they would be overwritten by {source}. Use another "
                f"--dest or delete {lang_dir} first.")
    return None


def claim_languages(dest: Path, sources: Mapping[str, str]) -> None:
    """Record ``sources`` (language -> release) in ``dest/<lang>/``, after checking every one
    of them: a folder written from another release is an error naming both, before anything
    is written. The same release again is fine (re-runs reuse converted audio)."""
    refusals = [r for lang, source in sorted(sources.items())
                if (r := _refusal(Path(dest) / lang, source))]
    if refusals:
        raise ValueError("\n".join(refusals))
    for lang, source in sources.items():
        atomic_write_text(Path(dest) / lang / SOURCE_FILE, source + "\n")


def remove_stale(lang_dir: Path) -> int:
    """Delete the manifests, labels and dictionaries an earlier run left in ``lang_dir``, so
    that none outlives the run (other label kinds, other few-shot subsets) beside manifests it
    does not match. Called right before a run writes its own."""
    stale = sorted({p for pattern in WRITTEN for p in Path(lang_dir).glob(pattern)})
    for path in stale:
        path.unlink()
    return len(stale)
