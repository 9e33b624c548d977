"""Task `xlsr_finetuning`: CTC fine-tuning of a wav2vec 2.0 family model (XLSR, or any stock or
released wav2vec 2.0 checkpoint) on one language or many, and CTC decoding for `fairseq-generate`
(Conneau et al. 2020, section 3.3)."""
import logging
import os
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import List, Optional

from fairseq.data import AddTargetDataset, Dictionary
from fairseq.data.text_compressor import TextCompressor
from fairseq.dataclass import ChoiceEnum
from fairseq.tasks import register_task
from fairseq.tasks.audio_finetuning import (
    AudioFinetuningConfig,
    AudioFinetuningTask,
    LabelEncoder,
    label_len_fn,
)

from xlsr_plugin.data.manifests import ManifestError, manifest_path
from xlsr_plugin.decoding.ctc import BeamSearchDecoder, ViterbiDecoder
from xlsr_plugin.tasks._multilingual import MultilingualTaskMixin, check_supported_options
from xlsr_plugin.tasks._seeded_steps import SeededStepsMixin
from xlsr_plugin.tasks.xlsr_pretraining import XlsrPretrainingConfig

logger = logging.getLogger(__name__)

CTC_DECODERS = ChoiceEnum(["viterbi", "beam"])


@dataclass
class XlsrFinetuningConfig(AudioFinetuningConfig, XlsrPretrainingConfig):
    """Languages as in xlsr_pretraining (`langs`, `sampling_unit`); one language reads
    DATA/<lang>/dict.<labels>.txt, several the union DATA/dict.<labels>.txt."""

    sampling_alpha: Optional[float] = field(
        default=None,
        metadata={"help": "language-balanced sampling of the training split, p_l ∝ "
                  "(n_l/N)^alpha; unset: every utterance once per epoch (natural distribution)"},
    )
    ctc_decoder: CTC_DECODERS = field(
        default="viterbi",
        metadata={"help": "fairseq-generate decoder: viterbi (greedy) or beam (width --beam); "
                  "beam is used whenever --kenlm-model or --lexicon is given"},
    )
    kenlm_model: Optional[str] = field(
        default=None,
        metadata={"help": "KenLM language model (ARPA or binary) for beam search: over words "
                  "with --lexicon, else over the dictionary's tokens; weight --lm-weight"},
    )
    lexicon: Optional[str] = field(
        default=None,
        metadata={"help": "lexicon for beam search: `word t1 t2 ... |` per line"},
    )
    word_score: float = field(
        default=0.0, metadata={"help": "beam search: score added per word (with --lexicon)"}
    )
    beam_threshold: float = field(
        default=25.0, metadata={"help": "beam search: prune hypotheses this far below the best"}
    )


class LabelError(ManifestError):
    """Label files that do not line up with their manifest."""


def _manifest_row(tsv: str, index: int) -> str:
    """The audio path of the manifest's `index`-th utterance row (line index + 2)."""
    with open(tsv, encoding="utf-8") as f:
        return f.read().splitlines()[index + 1].split("\t", 1)[0]


@register_task("xlsr_finetuning", dataclass=XlsrFinetuningConfig)
class XlsrFinetuningTask(SeededStepsMixin, MultilingualTaskMixin, AudioFinetuningTask):
    """DATA/<lang>/<split>.tsv with <split>.<labels> of every language as one dataset whose
    batches carry `sample["lang"]`; `<split>_<lang>` is one language alone. Use it with the
    stock `wav2vec_ctc` model and `ctc` criterion."""

    cfg: XlsrFinetuningConfig

    def __init__(self, cfg: XlsrFinetuningConfig):
        check_supported_options(cfg)
        super().__init__(cfg)
        self._data_dictionary = None

    # -- dictionaries ---------------------------------------------------------------------------

    def dictionary_path(self) -> str:
        folder = self.cfg.target_dictionary
        if not folder:
            langs = self.languages
            folder = os.path.join(self.cfg.data, langs[0]) if len(langs) == 1 else self.cfg.data
        return os.path.join(folder, f"dict.{self.cfg.labels}.txt")

    def load_target_dictionary(self):
        if not self.cfg.labels:
            return None
        path = self.dictionary_path()
        if not os.path.isfile(path):
            raise FileNotFoundError(f"target dictionary {path} not found (task.labels={self.cfg.labels})")
        logger.info("target dictionary %s", path)
        self._data_dictionary = Dictionary.load(path)
        return self._data_dictionary

    def check_checkpoint_dictionary(self):
        """A loaded checkpoint's task state carries the dictionary it was trained with: it must
        be the data's, or every output symbol would be read as another one."""
        trained = self.state.target_dictionary
        data = self._data_dictionary or self.load_target_dictionary()
        if trained is data or trained.symbols == data.symbols:
            return
        only_trained = [s for s in trained.symbols if s not in data.indices]
        only_data = [s for s in data.symbols if s not in trained.indices]
        detail = (f"only in the checkpoint's: {only_trained}; only in the data's: {only_data}"
                  if only_trained or only_data else "same symbols in another order")
        raise ValueError(
            f"the checkpoint's dictionary ({len(trained)} symbols) is not {self.dictionary_path()} "
            f"({len(data)} symbols): {detail}. Point the task at the dictionary the model was "
            "fine-tuned with (the language set of task.langs, or --target-dictionary DATA/<lang>)"
        )

    # -- datasets -------------------------------------------------------------------------------

    def load_dataset(self, split: str, task_cfg=None, **kwargs):
        task_cfg = task_cfg or self.cfg
        if not task_cfg.labels:
            raise ValueError("xlsr_finetuning needs task.labels (phn, ltr, ...)")
        self.check_checkpoint_dictionary()
        base, langs = self.split_languages(split)
        datasets = OrderedDict((lang, self._labelled(lang, base, task_cfg)) for lang in langs)
        self.datasets[split] = self.combine_languages(split, datasets, alpha=self.cfg.sampling_alpha)

    def _labelled(self, lang: str, base: str, task_cfg) -> AddTargetDataset:
        audio = self.load_language_audio(lang, base, task_cfg)
        level = self.text_compression_level()
        labels = self._read_labels(lang, base, task_cfg.labels, audio)
        compressor = TextCompressor(level=level)
        return AddTargetDataset(
            audio,
            [compressor.compress(label) for label in labels],
            pad=self.target_dictionary.pad(),
            eos=self.target_dictionary.eos(),
            batch_targets=True,
            process_label=LabelEncoder(self.target_dictionary),
            label_len_fn=label_len_fn,
            add_to_input=False,
            text_compression_level=level,
        )

    def _read_labels(self, lang: str, base: str, labels: str, audio) -> List[str]:
        """The label lines of the utterances the audio dataset kept, checked against the
        manifest row by row (the manifest, already read by `audio`, is read again only to name
        the row of an error)."""
        tsv = manifest_path(self.cfg.data, lang, base)
        path = os.path.join(self.cfg.data, lang, f"{base}.{labels}")
        if not os.path.isfile(path):
            raise LabelError(f"language {lang!r}: label file {path} not found (for {tsv})")
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        rows = len(audio) + len(audio.skipped_indices)
        missing = next((i for i in range(rows) if i >= len(lines) or not lines[i].strip()), None)
        if missing is not None:
            raise LabelError(
                f"{tsv}, line {missing + 2} ({_manifest_row(tsv, missing)}): no label ({path} "
                + (f"has only {len(lines)} lines)" if missing >= len(lines)
                   else f"line {missing + 1} is empty)")
            )
        if len(lines) > rows:
            raise LabelError(f"{path}, line {rows + 1}: a label with no utterance "
                             f"({tsv} lists {rows})")
        kept = [line for i, line in enumerate(lines) if i not in audio.skipped_indices]
        self._log_unknown_symbols(path, kept)
        return kept

    def _log_unknown_symbols(self, path: str, labels: List[str]) -> None:
        dictionary = self.target_dictionary
        unknown = Counter(s for line in labels for s in line.split() if s not in dictionary.indices)
        if unknown:
            logger.warning(
                "%s: %d target symbols not in the dictionary, read as %s: %s",
                path, sum(unknown.values()), dictionary.unk_word, dict(unknown.most_common(10)),
            )

    def get_batch_iterator(self, dataset, max_tokens=None, **kwargs):
        # Labelled utterances are never cropped: a batch must hold the longest one
        # (fairseq-generate's default of 12000 tokens is a text default, 0.75 s of audio).
        longest = int(dataset.sizes.max()) if len(dataset) else 0
        if max_tokens is not None and max_tokens < longest:
            logger.info("max_tokens %d raised to the longest utterance, %d samples", max_tokens, longest)
            max_tokens = longest
        if dataset is not self.datasets.get(self.cfg.train_subset):
            # fairseq drops a last batch smaller than the multiple: evaluation must see every
            # utterance.
            kwargs["required_batch_size_multiple"] = 1
        return super().get_batch_iterator(dataset, max_tokens=max_tokens, **kwargs)

    # -- decoding -------------------------------------------------------------------------------

    def build_generator(self, models, args, seq_gen_cls=None, extra_gen_cls_kwargs=None, **kwargs):
        """The CTC decoder fairseq-generate calls: greedy Viterbi, or beam search (width
        --beam, --nbest, --lm-weight) with the task's KenLM model and lexicon."""
        dictionary = self.target_dictionary
        for model in models:
            self._check_output_size(model, dictionary)
        cfg = self.cfg
        if cfg.ctc_decoder == "viterbi" and not (cfg.kenlm_model or cfg.lexicon):
            return ViterbiDecoder(dictionary)
        return BeamSearchDecoder(
            dictionary,
            beam=getattr(args, "beam", 5),
            nbest=getattr(args, "nbest", 1),
            kenlm_model=cfg.kenlm_model,
            lexicon=cfg.lexicon,
            lm_weight=getattr(args, "lm_weight", 0.0),
            word_score=cfg.word_score,
            beam_threshold=cfg.beam_threshold,
        )

    @staticmethod
    def _check_output_size(model, dictionary):
        proj = getattr(getattr(model, "w2v_encoder", None), "proj", None)
        if proj is not None and proj.out_features != len(dictionary):
            raise ValueError(f"the model has {proj.out_features} outputs but the target "
                             f"dictionary {len(dictionary)} symbols")
