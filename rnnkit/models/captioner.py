"""One-to-many: image captioning, a CNN that looks and an LSTM that writes (`Captioner`), and
the `ImageCaptioner` that trains it on captioned images and captions new ones.

Show and Tell (Vinyals et al. 2015): a convolutional network turns the image into features
that start the recurrent decoder, which then writes the caption word by word. Show, Attend and
Tell (Xu et al. 2015): the decoder also attends, at every word, to the CNN's spatial grid, so
each word can look at its own part of the image (and `explain` can show where).

The decoder and its greedy/beam search are the ones translation uses
(`rnnkit.models.decoder`): to the decoder, a grid of h x w image features is a memory of
S = h*w positions, all real. Without attention the memory is one vector summarising the whole
image (attention over a single position is the identity), read at every step.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.checks import check_choice, check_counts
from rnnkit.data.augment import augment
from rnnkit.data.captions import CaptionSet, caption_loader
from rnnkit.data.parallel import CorpusConfig, Side
from rnnkit.errors import InputError
from rnnkit.evaluate.captioning import caption_scores
from rnnkit.io.weights import load_checked
from rnnkit.layers import CELLS
from rnnkit.models.attention import ATTENTIONS
from rnnkit.models.decoder import (
    AttentionDecoder,
    DecoderState,
    Hypotheses,
    check_decoding,
    sequence_loss,
)
from rnnkit.models.estimator import Estimator
from rnnkit.train.distributed import Parallel
from rnnkit.train.fit import FitResult, fit
from rnnkit.train.settings import TrainSettings

ENCODERS = ("cnn", "resnet18", "resnet34", "resnet50")


@dataclass
class CaptionerConfig:
    """The network (everything needed to rebuild it)."""

    encoder: str = "cnn"  # "cnn": trained from scratch; or a torchvision ResNet by name
    backbone_weights: str | None = None  # local weights file for a torchvision encoder
    channels: list[int] = field(default_factory=lambda: [16, 32, 64])  # per conv block
    embedding_dim: int = 32  # word embeddings
    hidden_size: int = 128  # decoder units
    num_layers: int = 1  # stacked decoder layers
    cell: str = "lstm"  # decoder cell: lstm, gru, ...
    attention: str = "additive"  # over the CNN grid (Xu et al. 2015), or "none" (one vector)
    dropout: float = 0.2  # on embeddings and before the output layer
    augment: bool = False  # training images randomly rotated, scaled, shifted, elastically
    #                        distorted (rnnkit.data.augment): for handwriting
    image_channels: int = 1  # set from the data: 1 (grey) or 3 (RGB)
    image_height: int = 32  # every image is resized to this
    image_width: int = 96
    mean: list[float] = field(default_factory=lambda: [0.0])  # per channel, of training images
    std: list[float] = field(default_factory=lambda: [1.0])
    monitor: str = "bleu"  # validation score watched: "bleu" (BLEU-4) or "exact" (exact match)
    label_smoothing: float = 0.0
    beam_size: int = 3  # default search of predict/evaluate (validation is greedy)
    alpha: float = 0.0  # length penalty exponent (Wu et al. 2016)
    max_length: int = 0  # most words written per caption; 0: 5 more than the longest seen
    vocab_size: int = 0  # learned, like the image size and statistics (``LEARNED``)

    def validate(self) -> None:
        """Raise `InputError` naming the first bad setting."""
        check_choice("encoder", self.encoder, ENCODERS)
        if self.cell not in CELLS:
            raise InputError(f"--cell {self.cell!r} is not known; choose one of {sorted(CELLS)}")
        if self.attention not in (*ATTENTIONS, "none"):
            raise InputError(f"--attention {self.attention!r} is not known; choose one of "
                             f"{', '.join(ATTENTIONS)} or none")
        if not self.channels or min(self.channels) < 1:
            raise InputError(f"--channels {self.channels}; expected positive channel counts")
        check_counts(self, ("embedding_dim", "hidden_size", "num_layers", "image_height",
                            "image_width"))
        reduction = 2 ** len(self.channels) if self.encoder == "cnn" else 32
        if min(self.image_height, self.image_width) < reduction:
            raise InputError(f"images of {self.image_height}x{self.image_width} are smaller than "
                             f"the encoder's reduction ({reduction}); use bigger images or "
                             "fewer --channels blocks")
        if self.image_channels not in (1, 3):
            raise InputError(f"image channels {self.image_channels}; expected 1 or 3")
        if not 0 <= self.dropout < 1:
            raise InputError(f"--dropout {self.dropout}; expected a value in [0, 1)")
        if self.monitor not in ("bleu", "exact"):
            raise InputError(f"--monitor {self.monitor!r}; choose bleu or exact")
        if self.max_length < 0:
            raise InputError(f"--max-length {self.max_length}; expected >= 0 (0: from the data)")
        check_decoding(self.label_smoothing, self.beam_size, self.alpha)


#: What an ImageCaptioner learns from the training data into its ``network`` config (its own
#: config stays as given): the image size and channels, the pixel statistics, the vocabulary
#: size and, when ``max_length`` is 0, the longest caption + 5.
LEARNED = ("image_channels", "image_height", "image_width", "mean", "std", "vocab_size",
           "max_length")

#: Training settings of the captioner.
TRAINING = TrainSettings(epochs=30, batch_size=64, lr=2e-3, clip=5.0, patience=4)


def conv_encoder(in_channels: int, channels: list[int]) -> nn.Sequential:
    """Blocks of 3x3 conv, batch norm, ReLU and a 2x2 max pool: each block halves the image;
    the output is a (B, channels[-1], H / 2^n, W / 2^n) grid of features."""
    layers: list[nn.Module] = []
    for width in channels:
        layers += [nn.Conv2d(in_channels, width, 3, padding=1, bias=False),
                   nn.BatchNorm2d(width), nn.ReLU(inplace=True), nn.MaxPool2d(2)]
        in_channels = width
    return nn.Sequential(*layers)


def torchvision_encoder(name: str, weights: str | None) -> nn.Sequential:
    """A torchvision ResNet without its pooling and classifier: a (B, C, H/32, W/32) grid.

    Its weights come from a local file (``weights``; safetensors or a torch state dict) or
    are random; nothing is ever downloaded. With weights, the backbone is frozen.
    """
    try:
        import torchvision
    except ImportError as err:
        raise InputError(f"--encoder {name} needs torchvision, which is not installed; "
                         "install it beside torch, or use --encoder cnn") from err
    model = torchvision.models.get_model(name, weights=None)
    if weights is not None:
        path = Path(weights)
        if not path.is_file():
            raise InputError(f"--backbone-weights {path} does not exist")
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
        try:
            model.load_state_dict(state)
        except RuntimeError as err:
            raise InputError(f"--backbone-weights {path} do not fit {name} ({err})") from err
    backbone = nn.Sequential(*list(model.children())[:-2])
    if weights is not None:
        backbone.requires_grad_(False)
    return backbone


class Captioner(nn.Module):
    r"""CNN encoder -> the shared `AttentionDecoder`.

    The encoder maps an image to a grid of features :math:`a_1..a_S` (S = h*w positions,
    each with a learned position vector added, so attention can tell left from right). The
    decoder's initial state is :math:`h_0 = \tanh(W_h \bar a)`, :math:`c_0 = \tanh(W_c \bar a)`
    with :math:`\bar a` the mean feature (Xu et al. 2015, sec. 3.1.2); at every word it
    attends over the grid. With ``attention="none"`` the memory is one learned summary of the
    whole grid, :math:`\tanh(W_s\,\mathrm{vec}(a))`, which also starts the decoder.

    Images come in as uint8 or float pixel values 0..255 (B, C, H, W) at the configured size;
    the network normalises them with the training mean and std it stores.
    """

    def __init__(self, config: CaptionerConfig) -> None:
        super().__init__()
        c = config
        self.config = c
        if c.encoder == "cnn":
            self.encoder = conv_encoder(c.image_channels, list(c.channels))
        else:
            self.encoder = torchvision_encoder(c.encoder, c.backbone_weights)
        self.register_buffer("mean", torch.tensor(c.mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(c.std, dtype=torch.float32).view(1, -1, 1, 1))
        with torch.no_grad():
            grid = self.encoder.eval()(torch.zeros(1, self._in_channels(), c.image_height,
                                                   c.image_width))
        self.encoder.train()
        features, self.grid = grid.shape[1], tuple(grid.shape[2:])
        positions = self.grid[0] * self.grid[1]
        if c.attention == "none":
            self.summary = nn.Linear(features * positions, c.hidden_size)
            memory_size, attention = c.hidden_size, "general"
        else:
            self.position = nn.Parameter(torch.zeros(positions, features))
            memory_size, attention = features, c.attention
        self.decoder = AttentionDecoder(c.vocab_size, c.embedding_dim, c.hidden_size,
                                        memory_size, c.num_layers, c.cell, attention, c.dropout)
        self.init = nn.ModuleList(nn.Linear(memory_size, c.hidden_size)
                                  for _ in self.decoder.rnn.state_type._fields)

    def _in_channels(self) -> int:
        return self.config.image_channels if self.config.encoder == "cnn" else 3

    def features(self, images: Tensor) -> Tensor:
        """The CNN's grid (B, C, h, w) of pixel images (B, C_img, H, W) 0..255."""
        c = self.config
        if tuple(images.shape[1:]) != (c.image_channels, c.image_height, c.image_width):
            raise InputError(f"images of shape {tuple(images.shape[1:])}; this captioner reads "
                             f"({c.image_channels}, {c.image_height}, {c.image_width})")
        x = (images.float() / 255.0 - self.mean) / self.std
        if x.shape[1] != self._in_channels():
            x = x.expand(-1, 3, -1, -1)  # grey images into an RGB backbone
        return self.encoder(x)

    def encode(self, images: Tensor) -> tuple[Tensor, Tensor, DecoderState]:
        """Images -> memory (B, S, D), mask (B, S) (all True) and the decoder's first state."""
        grid = self.features(images)
        if self.config.attention == "none":
            memory = torch.tanh(self.summary(grid.flatten(1)))[:, None]  # (B, 1, H)
        else:
            memory = grid.flatten(2).transpose(1, 2) + self.position  # (B, S, C)
        mean = memory.mean(dim=1)
        L = self.decoder.rnn.num_layers
        parts = [torch.tanh(layer(mean))[None].expand(L, -1, -1).contiguous()
                 for layer in self.init]
        rnn = self.decoder.rnn.state_type(*parts) if len(parts) > 1 else parts[0]
        mask = torch.ones(memory.shape[:2], dtype=torch.bool, device=memory.device)
        return memory, mask, self.decoder.initial_state(rnn)

    def forward(self, images: Tensor, target_in: Tensor) -> Tensor:
        """Logits (B, T, V) of each next word, fed ``target_in`` = ``<bos> y_1 .. y_{T-1}``;
        in training mode with ``augment``, each image is randomly distorted first."""
        if self.training and self.config.augment:
            images = augment(images.float())
        memory, mask, state = self.encode(images)
        return self.decoder(target_in, memory, mask, state)

    def search(self, images: Tensor, bos: int, eos: int, beam_size: int = 1,
               max_length: int = 30, alpha: float = 0.0) -> Hypotheses:
        """Caption a batch by `AttentionDecoder.search`: greedy (``beam_size=1``) or beam search."""
        memory, mask, state = self.encode(images)
        return self.decoder.search(memory, mask, state, bos, eos, beam_size, max_length, alpha)


@dataclass
class Caption:
    """One image's caption: its text, tokens, log P (``<eos>`` included) and, with attention,
    the weights (T, h, w) of each output step (tokens, then ``<eos>``) over the CNN grid."""

    text: str
    tokens: list[str]
    score: float
    attention: Tensor | None


def image_statistics(images: Tensor) -> tuple[list[float], list[float]]:
    """Per-channel mean and std (0..1 scale) of uint8 images (N, C, H, W)."""
    x = images.float().div_(255.0)
    mean = x.mean(dim=(0, 2, 3))
    std = x.std(dim=(0, 2, 3)).clamp_min(1e-3)
    return [round(float(v), 6) for v in mean], [round(float(v), 6) for v in std]


class ImageCaptioner(Estimator):
    """Train a `Captioner` on captioned images and caption new ones (an estimator).

    Example:
        >>> from rnnkit.data.digit_scenes import digit_scenes
        >>> cap = ImageCaptioner(CaptionerConfig(channels=[4, 8], hidden_size=16, monitor="exact"),
        ...                      train=TrainSettings(epochs=1))
        >>> _ = cap.fit(digit_scenes("train", 64).caption_set(),
        ...             digit_scenes("val", 8).caption_set(), progress=False)
        >>> captions = cap.caption(digit_scenes("test", 3).images)
        >>> len(captions), captions[0].attention.shape[1:]  # per word: weights on the CNN grid
        (3, torch.Size([8, 24]))
    """

    SETTINGS = (("model", CaptionerConfig, "config"), ("text", CorpusConfig, "text_config"),
                ("train", TrainSettings, "train_config"))

    NAME = "captioner"
    # learned by `fit` or `from_state`
    network: CaptionerConfig | None = None  # config with what the data taught
    side: Side | None = None
    net: Captioner | None = None

    def __init__(self, config: CaptionerConfig | None = None, text: CorpusConfig | None = None,
                 train: TrainSettings | None = None) -> None:
        super().__init__(config or CaptionerConfig(),
                         text or CorpusConfig(lowercase=True, min_freq=1),
                         train or replace(TRAINING))

    def check(self, train: CaptionSet, valid: CaptionSet) -> str:
        """Check every setting and that both image sets have one size (`InputError` on the
        first problem) and say in one line what `fit` will train; changes nothing."""
        c = self.config
        c.validate()
        self.text_config.validate()
        self.train_config.validate()
        if valid.images.shape[1:] != train.images.shape[1:]:
            raise InputError(f"validation images are {tuple(valid.images.shape[1:])}, training "
                             f"images {tuple(train.images.shape[1:])}; give them one size")
        return (f"caption: {c.encoder.upper()} -> {c.cell.upper()}({c.hidden_size}) with "
                f"{c.attention} attention; {len(train)} training, {len(valid)} validation "
                "images")

    def fit(self, train: CaptionSet, valid: CaptionSet, *, progress: bool = True,
            checkpoint_dir: Path | None = None, resume: bool = False,
            parallel: Parallel | None = None, log_dir: Path | None = None) -> FitResult:
        """Train on every (image, caption) pair of ``train``; keep the epoch with the best
        greedy validation score (BLEU-4 or exact match, ``monitor``) on ``valid``. The
        keywords are every estimator's (see `rnnkit.models.forecaster.Forecaster.fit`)."""
        self.check(train, valid)
        t = self.train_config
        _, channels, height, width = train.images.shape
        texts = [caption for captions in train.captions for caption in captions]
        self.side = Side.build(texts, self.text_config)
        mean, std = image_statistics(train.images)
        image_index, ids = [], []
        for k, captions in enumerate(train.captions):
            for caption in captions:
                encoded = self.side.encode(caption)[: self.text_config.max_length - 1]
                if encoded:
                    image_index.append(k)
                    ids.append(encoded)
        if not ids:
            raise InputError(f"{train.origin}: no caption has a word; check the captions file")
        c = self.network = replace(
            self.config, vocab_size=len(self.side.vocab), image_channels=channels,
            image_height=height, image_width=width, mean=mean, std=std,
            max_length=self.config.max_length or max(len(i) for i in ids) + 5)
        torch.manual_seed(t.seed)
        self.net = Captioner(c)
        loader = caption_loader(train.images, image_index, ids, self.side.bos_index,
                                self.side.eos_index, t.batch_size, shuffle=True, seed=t.seed)

        def score(model: nn.Module) -> float:
            found = self._search(model, valid.images, beam_size=1, alpha=0.0)
            hypotheses = [self.side.decode(tokens) for tokens, _, _ in found]
            scores = caption_scores(hypotheses, valid.captions, self.text_config.lowercase)
            return scores["bleu"] if c.monitor == "bleu" else scores["exact_match"]

        return fit(self.net, partial(sequence_loss, label_smoothing=c.label_smoothing), loader,
                   None, t, val_score=score, higher_is_better=True, progress=progress,
                   checkpoint_dir=checkpoint_dir, resume=resume, parallel=parallel,
                   log_dir=log_dir)

    @torch.no_grad()
    def _search(self, model: nn.Module, images: Tensor, beam_size: int, alpha: float,
                batch_size: int = 256) -> list[tuple[list[int], float, Tensor]]:
        """(ids, log P, attention (T, S)) of each image, in order."""
        was_training = model.training
        model.eval()
        device = next(model.parameters()).device
        out = []
        for start in range(0, len(images), batch_size):
            hyps = model.search(images[start:start + batch_size].to(device),
                                self.side.bos_index, self.side.eos_index, beam_size,
                                self.network.max_length, alpha)
            out += [(tokens, float(score), weights) for tokens, score, weights
                    in zip(hyps.tokens, hyps.scores, hyps.attention, strict=True)]
        model.train(was_training)
        return out

    def caption(self, images: Tensor, beam_size: int | None = None,
                alpha: float | None = None) -> list[Caption]:
        """Caption each image (N, C, H, W) pixel values 0..255 at the model's size: beam search
        with the configured ``beam_size`` unless given (1 = greedy)."""
        self.check_trained()
        t = self.config
        beam = t.beam_size if beam_size is None else beam_size
        if beam < 1:
            raise InputError(f"--beam {beam}; expected at least 1 (1 = greedy search)")
        found = self._search(self.net, images, beam, t.alpha if alpha is None else alpha)
        grid = self.net.grid if self.config.attention != "none" else None
        return [Caption(self.side.decode(tokens),
                        self.side.vocab.decode(tokens, skip_specials=False), score,
                        None if grid is None else weights.view(-1, *grid))
                for tokens, score, weights in found]

    def predict(self, images: Tensor, beam_size: int | None = None) -> list[str]:
        """The caption of each image (the estimator contract's ``predict``; `caption` gives
        the tokens, scores and attention too)."""
        return [c.text for c in self.caption(images, beam_size)]

    def scores(self, data: CaptionSet,
               beam_size: int | None = None) -> tuple[dict[str, Any], list[Caption]]:
        """BLEU-4 (sacreBLEU, all references of each image) and exact match of the captions of
        ``data``'s images, and the captions."""
        captions = self.caption(data.images, beam_size)
        return caption_scores([c.text for c in captions], data.captions,
                              self.text_config.lowercase), captions

    # ---- persistence ------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """The run's config.json entries (the vocabulary is a separate file)."""
        return {**self.settings(), "network": {k: getattr(self.network, k) for k in LEARNED}}

    @classmethod
    def from_state(cls, state: dict[str, Any], side: Any, weights: dict[str, Tensor],
                   where: str) -> ImageCaptioner:
        """Rebuild from `state`, the side's `to_dict` and a weights dict (from safetensors);
        anything that does not fit is refused."""
        cap = cls.from_settings(state, where)
        model = cap.config
        try:
            network = replace(model, **{k: state["network"][k] for k in LEARNED},
                              backbone_weights=None)  # the run's own weights hold the backbone
        except (KeyError, TypeError) as err:
            raise InputError(f"{where}: missing or malformed entry {err}") from err
        network.validate()
        cap.text_config.validate()
        cap.side = Side.from_dict(side, f"{where}: vocabulary")
        if len(cap.side.vocab) != network.vocab_size:
            raise InputError(f"{where}: a vocabulary of {len(cap.side.vocab)} words, but the "
                             f"model was built for {network.vocab_size}")
        cap.network = network
        cap.net = load_checked(Captioner(network), weights, where)
        return cap
