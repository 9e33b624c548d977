"""CTC decoders with the output `fairseq-generate` reads: for every utterance a list of
hypotheses, each a dict with `tokens`, `score`, `positional_scores` and `alignment` (None).

Emissions are the model's log-probabilities `[batch, frame, vocabulary]`; the blank is the
dictionary's `<s>` (index 0), as for fairseq's `ctc` criterion.
"""
import logging
import os
import tempfile
from typing import Dict, List, Optional

import torch
from fairseq.data import Dictionary

logger = logging.getLogger(__name__)

Hypothesis = Dict[str, Optional[torch.Tensor]]


def _emissions(models, sample):
    """Log-probabilities `[batch, frame, vocabulary]` (float32, CPU) and valid frame counts."""
    if len(models) != 1:
        raise ValueError(f"CTC decoding takes one model, got an ensemble of {len(models)}")
    model = models[0]
    net_output = model(**sample["net_input"])
    lprobs = model.get_normalized_probs(net_output, log_probs=True).transpose(0, 1)
    padding = net_output.get("padding_mask")
    if padding is not None:
        lengths = (~padding).sum(-1)
    else:
        lengths = torch.full((lprobs.size(0),), lprobs.size(1), dtype=torch.long)
    return lprobs.float().cpu().contiguous(), lengths.cpu()


def _never_targets(dictionary: Dictionary) -> set:
    """Classes the CTC head has but no target holds (fairseq-generate strips them from `H-`):
    an undertrained model can still emit them."""
    return {dictionary.eos(), dictionary.pad()}


class _CtcDecoder:
    """What fairseq-generate calls (through task.inference_step): `generate`."""

    @torch.no_grad()
    def generate(self, models, sample, **unused) -> List[List[Hypothesis]]:
        lprobs, lengths = _emissions(models, sample)
        return self.decode(lprobs, lengths)

    def decode(self, lprobs: torch.Tensor, lengths: torch.Tensor) -> List[List[Hypothesis]]:
        raise NotImplementedError


class ViterbiDecoder(_CtcDecoder):
    """Greedy CTC decoding: the best class of every frame, repeats merged, blanks dropped.
    `score` is the summed log-probability of that frame path; a token's positional score is
    its log-probability on the frame where it starts."""

    def __init__(self, dictionary: Dictionary):
        self.blank = dictionary.bos()
        self.symbols_to_strip_from_output = _never_targets(dictionary)

    def decode(self, lprobs: torch.Tensor, lengths: torch.Tensor) -> List[List[Hypothesis]]:
        best, path = lprobs.max(dim=-1)
        starts = torch.ones_like(path, dtype=torch.bool)
        starts[:, 1:] = path[:, 1:] != path[:, :-1]
        emitted = starts & (path != self.blank)
        hypotheses = []
        for b, length in enumerate(lengths.tolist()):
            keep = emitted[b, :length]
            hypotheses.append([{
                "tokens": path[b, :length][keep],
                "score": float(best[b, :length].sum()),
                "positional_scores": best[b, :length][keep],
                "alignment": None,
            }])
        return hypotheses


class BeamSearchDecoder(_CtcDecoder):
    """CTC beam search (flashlight-text through torchaudio), with an optional KenLM language
    model (ARPA or binary) and an optional lexicon. Without a lexicon the LM is over the
    dictionary's tokens (a phone or character LM); with one, over its words, and a hypothesis
    holds lexicon words only (see `LexiconWords`)."""

    def __init__(self, dictionary: Dictionary, beam: int, nbest: int = 1, kenlm_model=None,
                 lexicon=None, lm_weight: float = 0.0, word_score: float = 0.0,
                 beam_threshold: float = 25.0):
        from torchaudio.models.decoder import ctc_decoder

        self.dictionary = dictionary
        self.blank = dictionary.bos()
        self.silence = dictionary.index("|") if "|" in dictionary.indices else None
        self.symbols_to_strip_from_output = _never_targets(dictionary)
        silence = self.silence if self.silence is not None else dictionary.eos()  # sil_token below
        self.lexicon = LexiconWords(lexicon, dictionary, silence) if lexicon else None
        with tempfile.TemporaryDirectory() as folder:
            self.decoder = ctc_decoder(
                lexicon=lexicon,
                tokens=list(dictionary.symbols),
                lm=kenlm_model,
                lm_dict=self._token_lm_dict(dictionary, folder) if kenlm_model and not lexicon else None,
                nbest=nbest,
                beam_size=beam,
                beam_threshold=beam_threshold,
                lm_weight=lm_weight,
                word_score=word_score,
                blank_token=dictionary.bos_word,
                # Without word boundaries in the dictionary: </s> never wins a frame.
                sil_token="|" if self.silence is not None else dictionary.eos_word,
                unk_word=dictionary.unk_word,
            )
        logger.info(
            "CTC beam search: beam %d, LM %s, lexicon %s, lm_weight %g, word_score %g",
            beam, kenlm_model, lexicon, lm_weight, word_score,
        )

    @staticmethod
    def _token_lm_dict(dictionary: Dictionary, folder: str) -> str:
        """A file listing the tokens in dictionary order. Without a lexicon, flashlight asks the
        LM about token i as word i; torchaudio's own word list for that case comes out in
        another order, which would score every token as some other one."""
        path = os.path.join(folder, "tokens.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(dictionary.symbols) + "\n")
        return path

    def decode(self, lprobs: torch.Tensor, lengths: torch.Tensor) -> List[List[Hypothesis]]:
        results = self.decoder(lprobs, lengths.to(torch.int32))
        hypotheses = [[self._hypothesis(lprobs[b], int(lengths[b]), h) for h in nbest]
                      for b, nbest in enumerate(results)]
        return hypotheses if self.lexicon is None else [_distinct(nbest) for nbest in hypotheses]

    def _hypothesis(self, lprobs: torch.Tensor, length: int, result) -> Hypothesis:
        # flashlight's path has one extra frame at each end, where it puts word boundaries of
        # its own: drop the tokens that fall outside the utterance's frames.
        frames = result.timesteps.long() - 1
        keep = (frames >= 0) & (frames < length)
        tokens, frames = result.tokens[keep], frames[keep]
        if self.lexicon is not None:
            end = self.lexicon.words_end(tokens.tolist(), result.words)
            tokens, frames = tokens[:end], frames[:end]
        return {"tokens": tokens, "score": float(result.score),
                "positional_scores": lprobs[frames, tokens], "alignment": None}


def _distinct(nbest: List[Hypothesis]) -> List[Hypothesis]:
    """The best-scored of hypotheses with the same tokens (dropping the words a lexicon decode
    stopped inside of can make two equal)."""
    seen, kept = set(), []
    for hypothesis in nbest:
        key = tuple(hypothesis["tokens"].tolist())
        if key not in seen:
            seen.add(key)
            kept.append(hypothesis)
    return kept


class LexiconWords:
    """Which of a lexicon decode's tokens spell its words. flashlight can end an utterance
    inside a lexicon word (`a l a` of `a l a s o r b i |`); torchaudio leaves that fragment
    out of `words` but not out of `tokens`. A last word spelt in full but for its closing
    word boundary (phone labels end without one) is a word."""

    def __init__(self, path: str, dictionary: Dictionary, silence: int):
        from flashlight.lib.text.dictionary import load_words

        self.silence = silence
        self.spellings = {word: [self._letters([dictionary.index(t) for t in s]) for s in spellings]
                          for word, spellings in load_words(path).items()}
        self.spelt = {s for spellings in self.spellings.values() for s in spellings}
        self.path = path

    def _letters(self, tokens) -> tuple:
        return tuple(t for t in tokens if t != self.silence)

    def words_end(self, tokens: List[int], words: List[str]) -> int:
        """How many leading `tokens` spell `words` (with the word boundaries that follow)."""
        letters = [i for i, t in enumerate(tokens) if t != self.silence]
        stream = self._letters(tokens)
        done = self._spell(stream, words, 0)
        if done is None:
            raise ValueError(f"{self.path}: beam search returned words {words} that its tokens "
                             f"{tokens} do not spell")
        if stream[done:] in self.spelt:
            done = len(stream)
        end = letters[done - 1] + 1 if done else 0
        while end < len(tokens) and tokens[end] == self.silence:
            end += 1
        return end

    def _spell(self, stream: tuple, words: List[str], start: int) -> Optional[int]:
        """Where `words`, spelt from `start` on, end in `stream` (None: they are not there)."""
        if not words:
            return start
        for spelling in self.spellings.get(words[0], ()):
            if stream[start:start + len(spelling)] == spelling:
                end = self._spell(stream, words[1:], start + len(spelling))
                if end is not None:
                    return end
        return None
