"""Task `xlsr_finetuning`: CTC fine-tuning of a wav2vec 2.0 family model (XLSR, or any stock or
released wav2vec 2.0 checkpoint) on one language or many, and CTC decoding for `fairseq-generate`
(Conneau et al. 2020, section 3.3)."""
import logging
import os
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import List, Optional

import torch
from fairseq import utils
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
from omegaconf import II

from xlsr_plugin.data.manifests import ManifestError, language_folder, manifest_path
from xlsr_plugin.decoding.ctc import BeamSearchDecoder, ViterbiDecoder
from xlsr_plugin.scoring.valid_rates import (
    captured_outputs,
    check_best_checkpoint_metric,
    count_rate,
    log_rates,
)
from xlsr_plugin.tasks._checkpoints import CheckpointPolicyMixin
from xlsr_plugin.tasks._health_hooks import HealthHooksMixin
from xlsr_plugin.tasks._interpolated import configured
from xlsr_plugin.tasks._multilingual import MultilingualTaskMixin, check_supported_options
from xlsr_plugin.tasks._seeded_steps import SeededStepsMixin
from xlsr_plugin.tasks._trained_dictionary import trained_dictionary
from xlsr_plugin.tasks.xlsr_pretraining import XlsrPretrainingConfig
from xlsr_plugin.user_paths import resolve_user_paths

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
    # Read, not set, here (as `seed` reads common.seed): the task checks at set-up that the
    # metric is one its labels log. No help text, so that fairseq adds no second
    # --best-checkpoint-metric option to the command line.
    best_checkpoint_metric: str = II("checkpoint.best_checkpoint_metric")


class LabelError(ManifestError):
    """Label files that do not line up with their manifest."""


def some_symbols(symbols: List[str], shown: int = 8) -> str:
    """The first few symbols of a list, and how many more there are."""
    more = len(symbols) - shown
    return str(symbols[:shown]) + (f" and {more} more" if more > 0 else "")


def normalizes_over_time(model: torch.nn.Module) -> bool:
    """Whether the model group-normalizes over time (fairseq's Fp32GroupNorm is a GroupNorm):
    statistics over every frame of a padded batch, padding included."""
    return any(isinstance(module, torch.nn.GroupNorm) for module in model.modules())


def _manifest_row(tsv: str, index: int) -> str:
    """The audio path of the manifest's `index`-th utterance row (line index + 2)."""
    with open(tsv, encoding="utf-8") as f:
        return f.read().splitlines()[index + 1].split("\t", 1)[0]


@register_task("xlsr_finetuning", dataclass=XlsrFinetuningConfig)
class XlsrFinetuningTask(CheckpointPolicyMixin, HealthHooksMixin, SeededStepsMixin,
                         MultilingualTaskMixin, AudioFinetuningTask):
    """DATA/<lang>/<split>.tsv with <split>.<labels> of every language as one dataset whose
    batches carry `sample["lang"]`; `<split>_<lang>` is one language alone. Use it with the
    stock `wav2vec_ctc` model and `ctc` criterion. Warns when the run does not learn
    (health_*)."""

    cfg: XlsrFinetuningConfig

    def __init__(self, cfg: XlsrFinetuningConfig):
        check_supported_options(cfg)
        resolve_user_paths(cfg, "data", "target_dictionary", "kenlm_model", "lexicon")
        metric = configured(cfg, "best_checkpoint_metric")
        if metric and cfg.labels:
            check_best_checkpoint_metric(metric, cfg.labels)
        super().__init__(cfg)
        self._data_dictionary = None
        self._trained = None  # the dictionary of the checkpoint given with --path
        self.one_utterance_batches = False  # evaluation batches of one utterance (build_model)

    # -- dictionaries ---------------------------------------------------------------------------

    def dictionary_path(self) -> str:
        folder = self.cfg.target_dictionary
        if not folder:
            langs = self.languages
            folder = os.path.join(self.cfg.data, langs[0]) if len(langs) == 1 else self.cfg.data
        return os.path.join(folder, f"dict.{self.cfg.labels}.txt")

    def load_target_dictionary(self):
        """The checkpoint's dictionary when decoding one (fairseq-generate prints and scores
        with what this returns, before it loads the checkpoint); else the data's."""
        if not self.cfg.labels:
            return None
        checkpoint = configured(self.cfg, "eval_path")  # --path: its dictionary, not the data's
        if checkpoint:
            self._trained = trained_dictionary(utils.split_paths(checkpoint)[0])
            if self._trained is not None:
                logger.info("target dictionary: the one %s was fine-tuned with (%d symbols)",
                            checkpoint, len(self._trained))
                return self._trained
        return self.data_dictionary()

    def data_dictionary(self) -> Dictionary:
        if self._data_dictionary is None:
            path = self.dictionary_path()
            if not os.path.isfile(path):
                raise FileNotFoundError(f"target dictionary {path} not found (task.labels={self.cfg.labels})")
            logger.info("target dictionary %s", path)
            self._data_dictionary = Dictionary.load(path)
        return self._data_dictionary

    def check_checkpoint_dictionary(self, split: str, base: str) -> None:
        """A checkpoint is decoded with the dictionary it was fine-tuned with: references are
        encoded with it (symbols it lacks become `<unk>`, as in fine-tuning) and fairseq-generate
        prints and scores with it. A split of several languages (`test`), or an explicit
        --target-dictionary, must name that dictionary: else the run stops here, before
        decoding, saying what to pass."""
        loaded = self.state.target_dictionary
        trained = self._trained
        if trained is None and loaded is not self._data_dictionary:
            trained = loaded  # a checkpoint loaded without --path (its task state)
        if trained is None:  # no checkpoint: training
            return
        if loaded.symbols != trained.symbols:
            raise ValueError(f"split {split}: the checkpoints of --path hold different "
                             "dictionaries; decode one checkpoint at a time")
        if self.cfg.target_dictionary or split == base:
            self._check_same_dictionary(split, trained)
        logger.info("%s: decoding with the checkpoint's dictionary (%d symbols)", split, len(trained))

    def _check_same_dictionary(self, split: str, trained: Dictionary) -> None:
        data = self.data_dictionary()
        if trained.symbols == data.symbols:
            return
        only_trained = [s for s in trained.symbols if s not in data.indices]
        only_data = [s for s in data.symbols if s not in trained.indices]
        detail = (f"only in the checkpoint's: {some_symbols(only_trained)}; "
                  f"only in the data's: {some_symbols(only_data)}"
                  if only_trained or only_data else "same symbols in another order")
        fix = ("Leave --target-dictionary out (the checkpoint's is used)" if self.cfg.target_dictionary
               else "Decode one language's split (test_<lang>), or give the languages the model "
               "was fine-tuned on (--langs ky,sv) or its dictionary's folder (--target-dictionary "
               "DATA/<lang>)")
        raise ValueError(
            f"split {split}: the checkpoint's dictionary ({len(trained)} symbols) is not "
            f"{self.dictionary_path()} ({len(data)} symbols): {detail}. {fix}"
        )

    # -- datasets -------------------------------------------------------------------------------

    def load_dataset(self, split: str, task_cfg=None, **kwargs):
        task_cfg = task_cfg or self.cfg
        if not task_cfg.labels:
            raise ValueError("xlsr_finetuning needs task.labels (phn, ltr, ...)")
        base, parts = self.split_parts(split)
        self.check_checkpoint_dictionary(split, base)
        datasets = OrderedDict(((lang, corpus), self._labelled(lang, base, task_cfg, corpus))
                               for lang, corpus in parts)
        self.datasets[split] = self.combine_languages(split, datasets, alpha=self.cfg.sampling_alpha)

    def _labelled(self, lang: str, base: str, task_cfg, corpus: str = "") -> AddTargetDataset:
        # A bad audio file is an error naming it (fine-tuning and decoding never replace one).
        audio = self.load_language_audio(lang, base, task_cfg, corpus)
        level = self.text_compression_level()
        labels = self._read_labels(lang, base, task_cfg.labels, audio, corpus)
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

    def _read_labels(self, lang: str, base: str, labels: str, audio, corpus: str = "") -> List[str]:
        """The label lines of the utterances the audio dataset kept, checked against the
        manifest row by row (the manifest, already read by `audio`, is read again only to name
        the row of an error)."""
        tsv = manifest_path(self.cfg.data, lang, base, corpus)
        path = os.path.join(language_folder(self.cfg.data, lang, corpus), f"{base}.{labels}")
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
        if self.is_training_dataset(dataset):
            kwargs = self._training_budget(dataset, max_tokens, kwargs)
            return super().get_batch_iterator(dataset, max_tokens=max_tokens, **kwargs)
        # Evaluation never drops an utterance (MultilingualTaskMixin: a batch holds the longest
        # one, whatever max_tokens, e.g. fairseq-generate's text default of 12000 tokens, 0.75 s
        # of audio; no batch multiple), and labelled utterances are never cropped.
        if self.one_utterance_batches:
            kwargs["max_sentences"] = 1
        return super().get_batch_iterator(dataset, max_tokens=max_tokens, **kwargs)

    def _training_budget(self, dataset, max_tokens, kwargs):
        """Training batches keep max_tokens: an utterance longer than it is skipped and counted
        (max_positions bounded by it, as fairseq's trainer does), never a reason for every
        batch to grow."""
        if max_tokens is None:
            return kwargs
        too_long = dataset.sizes > max_tokens
        if too_long.any():
            logger.warning(
                "training: %d utterance(s) (%.2f hours) longer than max_tokens=%d samples are "
                "skipped; raise dataset.max_tokens to train on them",
                too_long.sum(), dataset.sizes[too_long].sum() / self.cfg.sample_rate / 3600, max_tokens,
            )
        max_positions = utils.resolve_max_positions(kwargs.get("max_positions"), max_tokens)
        return {**kwargs, "max_positions": max_positions, "ignore_invalid_inputs": True}

    def build_model(self, model_cfg, from_checkpoint=False):
        """The model; one whose feature encoder group-normalizes over time (the `default`
        extractor mode of wav2vec 2.0 Base and xlsr_tiny) reads the zero padding of a batch
        as audio, so that an utterance's hypothesis would depend on its batch-mates:
        validation and decoding then batch one utterance at a time."""
        resolve_user_paths(model_cfg, "w2v_path")  # read by the stock wav2vec_ctc model
        model = super().build_model(model_cfg, from_checkpoint)
        self.one_utterance_batches = normalizes_over_time(model)
        if self.one_utterance_batches:
            logger.info("group-norm feature encoder: validation and decoding batch one "
                        "utterance at a time (padding would change its hypothesis)")
        return model

    # -- validation: PER / CER as the scorers count them (best_checkpoint_metric) ---------------

    def valid_step(self, sample, model, criterion):
        with captured_outputs(model) as outputs:
            loss, sample_size, logging_output = super().valid_step(sample, model, criterion)
        if len(outputs) == 1 and self.target_dictionary is not None:
            count_rate(logging_output, model, outputs[0], sample["target"],
                       self.target_dictionary, getattr(criterion, "blank_idx", 0),
                       self.cfg.labels)
        return loss, sample_size, logging_output

    def reduce_metrics(self, logging_outputs, criterion):
        super().reduce_metrics(logging_outputs, criterion)
        log_rates(logging_outputs)

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
