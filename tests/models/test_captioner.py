from dataclasses import replace

import pytest
import torch

from rnnkit.data.captions import CaptionSet
from rnnkit.errors import InputError
from rnnkit.models.captioner import (
    TRAINING,
    Captioner,
    CaptionerConfig,
    ImageCaptioner,
)
from rnnkit.models.decoder import AttentionDecoder, greedy_search


def _toy(n=24, seed=0):
    """Images whose bright column block says which caption they have."""
    g = torch.Generator().manual_seed(seed)
    words = ["left dot", "middle dot", "right dot"]
    images = torch.randint(0, 40, (n, 1, 16, 24), generator=g, dtype=torch.uint8)
    captions = []
    for k in range(n):
        images[k, 0, 4:12, 8 * (k % 3):8 * (k % 3) + 8] = 250
        captions.append([words[k % 3], "a " + words[k % 3]][: 1 + (k % 2)])
    return CaptionSet(images, captions, [f"img{k}" for k in range(n)], "toy")


def test_captioner_reuses_the_shared_decoder_and_search():
    net = Captioner(CaptionerConfig(vocab_size=11, image_height=16, image_width=24,
                                    channels=[4, 8]))
    assert isinstance(net.decoder, AttentionDecoder)
    assert net.grid == (4, 6)
    images = torch.randint(0, 255, (3, 1, 16, 24), dtype=torch.uint8)
    logits = net(images, torch.randint(4, 11, (3, 5)))
    assert logits.shape == (3, 5, 11)
    net.eval()
    memory, mask, state = net.encode(images)
    assert memory.shape == (3, 24, 8) and bool(mask.all())
    hyps = greedy_search(net.decoder, memory, mask, state, bos=2, eos=3, max_length=7)
    found = net.search(images, bos=2, eos=3, beam_size=1, max_length=7)
    assert hyps.tokens == found.tokens
    assert all(torch.allclose(w.sum(-1), torch.ones(len(w))) for w in found.attention)


def test_without_attention_the_memory_is_one_vector():
    net = Captioner(CaptionerConfig(vocab_size=9, image_height=16, image_width=24,
                                    channels=[4, 8], attention="none", cell="gru"))
    memory, mask, state = net.encode(torch.zeros(2, 1, 16, 24))
    assert memory.shape == (2, 1, net.config.hidden_size) and mask.shape == (2, 1)
    assert net(torch.zeros(2, 1, 16, 24), torch.ones(2, 3, dtype=torch.long)).shape == (2, 3, 9)


def test_wrong_image_shape_is_refused():
    net = Captioner(CaptionerConfig(vocab_size=9, image_height=16, image_width=24,
                                    channels=[4]))
    with pytest.raises(InputError, match=r"this captioner reads \(1, 16, 24\)"):
        net.encode(torch.zeros(1, 3, 16, 24))


@pytest.mark.parametrize("attention", ["additive", "none"])
def test_captioner_overfits_a_handful_of_images(attention):
    data = _toy()
    cap = ImageCaptioner(CaptionerConfig(channels=[8, 16], hidden_size=48, embedding_dim=16,
                                         attention=attention, dropout=0.0, monitor="exact"),
                         train=replace(TRAINING, epochs=25, batch_size=4, lr=5e-3, patience=None,
                                             device="cpu"))
    cap.fit(data, data, progress=False)
    scores, captions = cap.scores(data, beam_size=1)
    assert scores["exact_match"] == 1.0, [c.text for c in captions]
    beam, _ = cap.scores(data, beam_size=3)
    assert beam["exact_match"] == 1.0 and beam["chrf"] > 99
    if attention == "additive":
        assert captions[0].attention.shape[1:] == cap.net.grid
    else:
        assert captions[0].attention is None


def test_state_round_trip_gives_the_same_captions():
    data = _toy()
    cap = ImageCaptioner(CaptionerConfig(channels=[4, 8], hidden_size=16, embedding_dim=8),
                         train=replace(TRAINING, epochs=2, device="cpu"))
    cap.fit(data, data, progress=False)
    again = ImageCaptioner.from_state(cap.state(), cap.side.to_dict(), cap.net.state_dict(),
                                      "run")
    assert [c.text for c in again.caption(data.images)] == \
        [c.text for c in cap.caption(data.images)]
    weights = {**cap.net.state_dict(), "extra": torch.zeros(1)}
    with pytest.raises(InputError, match="weights do not fit"):
        ImageCaptioner.from_state(cap.state(), cap.side.to_dict(), weights, "run")


def test_settings_are_checked():
    with pytest.raises(InputError, match="--attention 'soft'"):
        CaptionerConfig(attention="soft").validate()
    with pytest.raises(InputError, match="smaller than the encoder's reduction"):
        CaptionerConfig(image_height=8, channels=[4, 4, 4, 4]).validate()
    with pytest.raises(InputError, match="--monitor"):
        CaptionerConfig(monitor="loss").validate()
    with pytest.raises(InputError, match="needs torchvision"):
        try:
            import torchvision  # noqa: F401
        except ImportError:
            Captioner(CaptionerConfig(encoder="resnet18", vocab_size=5, image_channels=3,
                                      image_height=64, image_width=64, mean=[0, 0, 0],
                                      std=[1, 1, 1]))
        else:
            raise InputError("needs torchvision: installed here, checked elsewhere")
