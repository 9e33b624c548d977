"""A language folder holds one release: a second corpus is refused before anything is written,
and a re-run of the same release leaves no file of the earlier run beside manifests it does not
match (issue 11's measured case: Common Voice pl, then MLS polish into the same DATA)."""
import pytest

from _manifest_checks import check_split, read_tsv
from xlsr_plugin.preparation.pipeline import Options
from xlsr_plugin.preparation.commonvoice import main as commonvoice_main
from xlsr_plugin.preparation.commonvoice import prepare_commonvoice
from xlsr_plugin.preparation.mls import main as mls_main
from xlsr_plugin.synthetic import make_commonvoice_release, make_mls_release


@pytest.fixture(scope="module")
def releases(tmp_path_factory):
    base = tmp_path_factory.mktemp("releases")
    make_commonvoice_release(base / "cv-corpus-5.1-2020-06-22", {"pl": 8})
    make_mls_release(base / "mls", {"polish": 3})
    return base / "cv-corpus-5.1-2020-06-22", base / "mls"


def snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_second_corpus_is_refused_and_nothing_is_lost(releases, tmp_path, capsys):
    cv, mls = releases
    dest = tmp_path / "data"
    assert commonvoice_main(["--root", str(cv), "--dest", str(dest), "--workers", "1",
                             "--no-phonemes"]) == 0
    before = snapshot(dest)
    capsys.readouterr()
    with pytest.raises(SystemExit) as err:
        mls_main(["--root", str(mls), "--langs", "polish", "--dest", str(dest)])
    assert err.value.code == 2
    message = capsys.readouterr().err
    assert (f"{dest / 'pl'} was written from Common Voice cv-corpus-5.1-2020-06-22/pl, "
            f"not from MLS mls_polish_opus") in message
    assert snapshot(dest) == before
    # Each corpus in its own folder, as the tasks read them (DATA/cv, DATA/mls): both kept.
    assert mls_main(["--root", str(mls), "--langs", "polish", "--dest",
                     str(tmp_path / "mls")]) == 0
    assert len(read_tsv(tmp_path / "mls" / "pl" / "train.tsv")[1]) == 3


def test_same_release_again_is_idempotent_and_leaves_no_stale_labels(releases, tmp_path):
    cv, _ = releases
    dest = tmp_path / "data"
    first = Options(dest=dest, workers=1, phonemes=True, fewshot_hours=[5 / 3600, 10 / 3600])
    prepare_commonvoice(cv, ["pl"], first)
    before = snapshot(dest)
    prepare_commonvoice(cv, ["pl"], first)
    after = snapshot(dest)
    assert after.keys() == before.keys()
    for name in before:  # manifests name their own root first, the rest is byte-identical
        skip = 1 if name.suffix == ".tsv" else 0
        assert after[name].split(b"\n")[skip:] == before[name].split(b"\n")[skip:], name
    assert (dest / "pl" / "train_10s.phn").exists()
    # Same release, other options: no .phn, one few-shot size. The earlier run's .phn and
    # train_10s.* must not stay beside the new manifests.
    prepare_commonvoice(cv, ["pl"], Options(dest=dest, workers=1, phonemes=False,
                                            fewshot_hours=[5 / 3600]))
    names = {p.name for p in (dest / "pl").iterdir() if p.is_file()}
    assert not {n for n in names if n.endswith(".phn") or n.startswith("train_10s")}
    assert {"train_5s.tsv", "dict.ltr.txt", "source.txt"} <= names
    assert not (dest / "pl" / "dict.phn.txt").exists() and not (dest / "dict.phn.txt").exists()
    for split in ("train", "valid", "test", "train_5s"):
        check_split(dest / "pl", split, ("wrd", "ltr"))


def test_folder_of_unknown_origin_is_refused(releases, tmp_path):
    cv, _ = releases
    dest = tmp_path / "data"
    (dest / "pl").mkdir(parents=True)
    (dest / "pl" / "train.tsv").write_text("/somewhere\nclip.flac\t16000\n")
    with pytest.raises(ValueError, match="do not say which release"):
        prepare_commonvoice(cv, ["pl"], Options(dest=dest, workers=1, phonemes=False))
    assert (dest / "pl" / "train.tsv").read_text() == "/somewhere\nclip.flac\t16000\n"
