r"""One-to-many text generation: a character- (or word-) level recurrent language model.

The network predicts each next token from the ones before (Graves 2013; Karpathy's char-rnn):

.. math::
    h_t = \mathrm{RNN}(E x_t, h_{t-1}), \qquad p(x_{t+1} \mid x_{\le t}) = \mathrm{softmax}(W h_t)

trained on chunks of a long text (teacher forcing), and it writes by feeding its own samples
back in: from a prompt, each next token is drawn from :math:`\mathrm{softmax}(W h_t / T)`
(temperature T; T -> 0 is greedy, the most probable token) among the ``top_k`` most probable.
Its quality is bits per character: the text's negative log2-likelihood divided by its length.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.checks import check_counts
from rnnkit.data.text import Tokenizer, Vocab, build_tokenizer, tokenizer_from_dict
from rnnkit.errors import InputError
from rnnkit.io.weights import load_checked
from rnnkit.layers import CELLS, Recurrent
from rnnkit.models.decoder import sequence_loss
from rnnkit.models.estimator import Estimator
from rnnkit.train.distributed import Parallel
from rnnkit.train.fit import FitResult, fit
from rnnkit.train.loader import tensor_loader
from rnnkit.train.settings import TrainSettings

LEVELS = ("char", "word")
NEWLINE = "\n"


@dataclass
class LanguageModelConfig:
    """The network and its tokens (everything needed to rebuild it)."""

    level: str = "char"  # "char" (characters) or "word" (words and punctuation, lines kept)
    lowercase: bool = False
    min_freq: int = 1  # rarer training tokens become <unk>
    cell: str = "lstm"  # lstm, gru, rnn, ...
    embedding_dim: int = 64
    hidden_size: int = 256
    num_layers: int = 2
    dropout: float = 0.2  # between layers and before the output layer
    seq_length: int = 128  # tokens per training chunk (backpropagation through time)
    vocab_size: int = 0  # the network's size: a LanguageModel learns it from the data (in its
    #                      ``network`` config) and leaves its own config as given

    def validate(self) -> None:
        """Raise `InputError` naming the first bad setting."""
        if self.level not in LEVELS:
            raise InputError(f"--level {self.level!r}; choose char or word")
        if self.cell not in CELLS:
            raise InputError(f"--cell {self.cell!r} is not known; choose one of {sorted(CELLS)}")
        check_counts(self, ("embedding_dim", "hidden_size", "num_layers", "min_freq", "seq_length"))
        if not 0 <= self.dropout < 1:
            raise InputError(f"--dropout {self.dropout}; expected a value in [0, 1)")


#: Training settings of the language model.
TRAINING = TrainSettings(epochs=20, batch_size=64, lr=2e-3, clip=1.0, patience=3)


class RecurrentLM(nn.Module):
    """Embedding -> stacked `Recurrent` -> dropout -> linear over the vocabulary."""

    def __init__(self, config: LanguageModelConfig) -> None:
        super().__init__()
        c = config
        self.embedding = nn.Embedding(c.vocab_size, c.embedding_dim)
        self.rnn = Recurrent(c.cell, c.embedding_dim, c.hidden_size, c.num_layers,
                             dropout=c.dropout if c.num_layers > 1 else 0.0)
        self.dropout = nn.Dropout(c.dropout)
        self.out = nn.Linear(c.hidden_size, c.vocab_size)

    def forward(self, tokens: Tensor, state: Any = None) -> Tensor:
        """Logits (B, T, V) of each next token of ``tokens`` (B, T) (training: no state)."""
        return self.step(tokens, state)[0]

    def step(self, tokens: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        """Logits (B, T, V) and the final state, continuing from ``state``."""
        out, state = self.rnn(self.embedding(tokens), state)
        return self.out(self.dropout(out)), state


@dataclass
class Sample:
    """Generated text: the prompt, the continuation and their tokens' count."""

    prompt: str
    text: str
    tokens: int


class LanguageModel(Estimator):
    """Train a `RecurrentLM` on a text, measure bits per character, and write text.

    Example:
        >>> text = "A dog runs on the grass.\\nA cat sleeps on a mat.\\n" * 40
        >>> lm = LanguageModel(LanguageModelConfig(hidden_size=32, seq_length=32),
        ...                    TrainSettings(epochs=2, batch_size=4, lr=0.02))
        >>> _ = lm.fit(text, valid=text[-96:], progress=False)
        >>> bool(lm.evaluate(text)["bits_per_char"] < 1)  # characters alone: 3.9 bits
        True
        >>> lm.sample("A dog", length=19, temperature=0.5, seed=1).text  # doctest: +ELLIPSIS
        ' runs on ...'
    """

    SETTINGS = (("model", LanguageModelConfig, "config"), ("train", TrainSettings, "train_config"))
    NAME = "language model"
    # learned by `fit` or `from_state`
    network: LanguageModelConfig | None = None  # config with the vocabulary's size
    tokenizer: Tokenizer | None = None
    vocab: Vocab | None = None
    net: RecurrentLM | None = None

    def __init__(self, config: LanguageModelConfig | None = None,
                 train: TrainSettings | None = None) -> None:
        super().__init__(config or LanguageModelConfig(), train or replace(TRAINING))

    # ---- tokens -----------------------------------------------------------------------------

    def tokens(self, text: str) -> list[str]:
        """The tokens of ``text``; at word level, lines are tokenised apart, separated by
        a line-break token."""
        if self.config.level == "char":
            return self.tokenizer.tokenize(text)
        out: list[str] = []
        for k, line in enumerate(text.split(NEWLINE)):
            if k:
                out.append(NEWLINE)
            out.extend(self.tokenizer.tokenize(line))
        return out

    def detokenize(self, tokens: list[str]) -> str:
        """Text from tokens (line breaks kept at word level)."""
        if self.config.level == "char":
            return self.tokenizer.detokenize(tokens)
        lines, current = [], []
        for token in tokens:
            if token == NEWLINE:
                lines.append(self.tokenizer.detokenize(current))
                current = []
            else:
                current.append(token)
        return NEWLINE.join([*lines, self.tokenizer.detokenize(current)])

    def encode(self, text: str) -> Tensor:
        """Token ids (N,) of ``text``; unknown tokens become ``<unk>``."""
        return torch.as_tensor(self.vocab.encode(self.tokens(text)), dtype=torch.long)

    def _chunks(self, ids: Tensor, length: int) -> tuple[Tensor, Tensor]:
        """Non-overlapping (input, next-token) chunks (N, length) covering the stream."""
        n = (len(ids) - 1) // length
        if n < 1:
            raise InputError(f"the text has {len(ids)} tokens, fewer than one chunk of "
                             f"{length + 1}; give more text or a smaller --seq-length")
        return (ids[: n * length].view(n, length),
                ids[1: n * length + 1].view(n, length))

    # ---- training ---------------------------------------------------------------------------

    def check(self, train: str, valid: str) -> str:
        """Check every setting and that both texts have some (`InputError` on the first
        problem) and say in one line what `fit` will train; changes nothing."""
        c = self.config
        c.validate()
        self.train_config.validate()
        if not train.strip():
            raise InputError("the training text is empty; give a file with some text")
        if not valid.strip():
            raise InputError("the validation text is empty; give more text")
        return (f"generate: {c.num_layers}x{c.cell.upper()}({c.hidden_size}) {c.level}-level "
                f"model on {len(train)} training and {len(valid)} validation characters")

    def fit(self, train: str, valid: str, *, progress: bool = True,
            checkpoint_dir: Path | None = None, resume: bool = False,
            parallel: Parallel | None = None, log_dir: Path | None = None) -> FitResult:
        """Train on chunks of ``train``; keep the epoch with the lowest loss on ``valid``.
        The keywords are every estimator's (see `rnnkit.models.forecaster.Forecaster.fit`)."""
        self.check(train, valid)
        c, t = self.config, self.train_config
        self.tokenizer = build_tokenizer("char" if c.level == "char" else "word", [],
                                         c.lowercase)
        self.vocab = Vocab.build([self.tokens(train)], c.min_freq)
        self.network = replace(c, vocab_size=len(self.vocab))
        torch.manual_seed(t.seed)
        self.net = RecurrentLM(self.network)
        x, y = self._chunks(self.encode(train), c.seq_length)
        valid_ids = self.encode(valid)
        vx, vy = self._chunks(valid_ids, min(c.seq_length, max(1, len(valid_ids) - 1)))
        return fit(self.net, sequence_loss,
                   tensor_loader(x, y, batch_size=t.batch_size, shuffle=True, seed=t.seed),
                   tensor_loader(vx, vy, batch_size=256, shuffle=False), t, progress=progress,
                   checkpoint_dir=checkpoint_dir, resume=resume, parallel=parallel,
                   log_dir=log_dir)

    # ---- scoring ----------------------------------------------------------------------------

    @torch.no_grad()
    def surprisal(self, text: str) -> tuple[list[str], Tensor]:
        """The tokens of ``text`` and the bits -log2 p of each token after the first, read
        in one pass with the state carried through."""
        self.check_trained()
        ids = self.encode(text)
        if len(ids) < 2:
            raise InputError("the text needs at least two tokens to be scored")
        self.net.eval()
        device = next(self.net.parameters()).device
        logits, _ = self.net.step(ids[None, :-1].to(device))
        logp = F.log_softmax(logits[0].float(), dim=-1).gather(1, ids[1:, None].to(device))
        return self.vocab.decode(ids.tolist(), skip_specials=False), \
            (-logp[:, 0] / math.log(2)).cpu()

    @torch.no_grad()
    def evaluate(self, text: str, streams: int = 16) -> dict[str, float]:
        """Bits per token and per character of ``text``: its negative log2-likelihood, read as
        ``streams`` contiguous parts with the state carried through each (only each part's
        first token is unscored), divided by the tokens and by the ``characters`` scored.

        The characters are those of the scored text itself (as the tokenizer reads it:
        NFC-normalised, lower-cased if the model is): each scored token covers the text from
        the end of the token before it to its own end, so spaces and line breaks count, and
        an unknown word counts its own letters, not the 5 of ``<unk>``.
        """
        self.check_trained()
        ids = self.encode(text)
        streams = max(1, min(streams, (len(ids) - 1) // 2))
        if len(ids) < 2:
            raise InputError("the text to score needs at least two tokens")
        per = len(ids) // streams
        parts = ids[: per * streams].view(streams, per)
        self.net.eval()
        device = next(self.net.parameters()).device
        nll, state = torch.zeros((), dtype=torch.float64), None
        for start in range(0, per - 1, 256):  # segments, the state carried across
            x = parts[:, start:min(start + 256, per - 1)].to(device)
            y = parts[:, start + 1:start + 1 + x.shape[1]].to(device)
            logits, state = self.net.step(x, state)
            nll += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(),
                                         y.reshape(-1), reduction="sum"))
        bits = float(nll) / math.log(2)
        scored = parts[:, 1:]
        read = unicodedata.normalize("NFC", text)  # the text as the tokenizers read it
        read = read.lower() if self.config.lowercase else read
        ends, at = [], 0  # where each token ends in it (between tokens: whitespace only)
        for token in self.tokens(text):
            at = read.index(token, at) + len(token)
            ends.append(at)
        part_ends = torch.tensor(ends[: per * streams]).view(streams, per)
        chars = int((part_ends[:, -1] - part_ends[:, 0]).sum())  # after each first token
        unknown = int((scored == self.vocab.unk_index).sum())
        return {"bits_per_token": bits / scored.numel(), "bits_per_char": bits / max(chars, 1),
                "perplexity": math.exp(float(nll) / scored.numel()),
                "tokens": scored.numel(), "characters": chars, "unknown_tokens": unknown}

    @torch.no_grad()
    def gates(self, text: str, layer: int = 0) -> dict[str, np.ndarray]:
        """Gate activity (1, T, H) of one recurrent layer per gate (LSTM: i, f, g, o; GRU: r,
        z, n) while it reads ``text`` (the trace path)."""
        self.check_trained()
        ids = self.encode(text)[None]
        self.net.eval()
        device = next(self.net.parameters()).device
        _, _, trace = self.net.rnn(self.net.embedding(ids.to(device)), trace=True)
        direction = trace[layer][0]
        return {name: direction.stack(name).cpu().numpy() for name in direction.gates}

    # ---- writing ----------------------------------------------------------------------------

    @torch.no_grad()
    def sample(self, prompt: str, length: int = 200, temperature: float = 1.0,
               top_k: int | None = None, seed: int = 0, greedy: bool = False) -> Sample:
        """Continue ``prompt`` by ``length`` tokens, each drawn from the softmax of the
        logits / ``temperature`` among the ``top_k`` most probable (``greedy``: always the
        most probable, the limit T -> 0). ``<pad>`` and ``<unk>`` are never written."""
        self.check_trained()
        if temperature <= 0 or not math.isfinite(temperature):
            raise InputError(f"--temperature {temperature}; expected a positive number "
                             "(small values approach greedy decoding)")
        if length < 1:
            raise InputError(f"--length {length}; expected at least 1")
        if top_k is not None and top_k < 1:
            raise InputError(f"--top-k {top_k}; expected at least 1")
        ids = self.encode(prompt) if prompt else torch.zeros(0, dtype=torch.long)
        if len(ids) and bool((ids == self.vocab.unk_index).all()):
            raise InputError(f"no token of the prompt {prompt!r} is in the model's vocabulary")
        if not len(ids):  # start after a line break (or the most frequent token)
            start = self.vocab.index.get(NEWLINE, self.vocab.n_specials)
            ids = torch.tensor([start])
        self.net.eval()
        device = next(self.net.parameters()).device
        generator = torch.Generator(device=device).manual_seed(seed)
        logits, state = self.net.step(ids[None].to(device))
        last = logits[0, -1].float()
        out: list[int] = []
        for _ in range(length):
            last[: self.vocab.n_specials] = float("-inf")
            if greedy:
                token = int(last.argmax())
            else:
                scaled = last / temperature
                if top_k is not None and top_k < len(scaled):
                    cut = scaled.topk(top_k).values[-1]
                    scaled = scaled.masked_fill(scaled < cut, float("-inf"))
                probs = F.softmax(scaled - scaled.max(), dim=-1)
                token = int(torch.multinomial(probs, 1, generator=generator))
            out.append(token)
            logits, state = self.net.step(torch.tensor([[token]], device=device), state)
            last = logits[0, -1].float()
        text = self.detokenize(self.vocab.decode(out, skip_specials=False))
        if self.config.level == "word" and prompt and not text.startswith(NEWLINE):
            text = " " + text
        return Sample(prompt, text, len(out))

    def predict(self, prompt: str, length: int = 200, temperature: float = 1.0,
                seed: int = 0) -> str:
        """A continuation of ``prompt`` (the estimator contract's ``predict``; see `sample`)."""
        return self.sample(prompt, length, temperature, seed=seed).text

    # ---- persistence ------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """The run's config.json entries (the vocabulary is a separate file)."""
        return self.settings()

    def vocab_dict(self) -> dict[str, Any]:
        """The run's vocab.json: tokenizer and vocabulary."""
        self.check_trained()
        return {"tokenizer": self.tokenizer.to_dict(), "vocab": self.vocab.to_dict()}

    @classmethod
    def from_state(cls, state: dict[str, Any], vocab: Any, weights: dict[str, Tensor],
                   where: str) -> LanguageModel:
        """Rebuild from `state`, `vocab_dict` and a weights dict; anything that does not fit
        is refused."""
        lm = cls.from_settings(state, where)
        model = lm.config
        model.validate()
        if not isinstance(vocab, dict) or set(vocab) != {"tokenizer", "vocab"}:
            raise InputError(f"{where}: vocab.json has exactly 'tokenizer' and 'vocab'")
        lm.tokenizer = tokenizer_from_dict(vocab["tokenizer"], f"{where}: tokenizer")
        lm.vocab = Vocab.from_dict(vocab["vocab"], f"{where}: vocabulary")
        lm.network = replace(model, vocab_size=len(lm.vocab))
        lm.net = load_checked(RecurrentLM(lm.network), weights, where)
        return lm
