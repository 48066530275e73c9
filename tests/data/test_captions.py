import json

import numpy as np
import pytest
import torch
from PIL import Image

from rnnkit.data.captions import (
    caption_loader,
    load_image,
    read_captions,
    read_coco,
    read_flickr,
)
from rnnkit.data.digit_scenes import WORDS, SceneConfig, digit_scenes, scan_pools
from rnnkit.errors import InputError


def _image(path, value, size=(12, 20)):
    array = np.full((*size, 3), value, dtype=np.uint8)
    array[0, 0] = (255, 0, 0)
    Image.fromarray(array).save(path)


@pytest.fixture
def folder(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    _image(images / "a.jpg", 10)
    _image(images / "b.png", 200)
    return images


def test_flickr_token_file_groups_captions_per_image(folder, tmp_path):
    tokens = tmp_path / "captions.token.txt"
    tokens.write_text("a.jpg#0\tA dog runs .\nb.png#0\tTwo cats .\n\na.jpg#1\tA brown dog .\n")
    data = read_flickr(folder, tokens, size=(8, 16))
    assert data.names == ["a.jpg", "b.png"]
    assert data.captions == [["A dog runs .", "A brown dog ."], ["Two cats ."]]
    assert data.images.shape == (2, 3, 8, 16) and data.images.dtype == torch.uint8
    assert data.images[0].float().mean() < data.images[1].float().mean()  # 10 vs 200 grey
    assert read_captions(folder, tokens, (8, 16), channels=1).images.shape == (2, 1, 8, 16)


def test_coco_json(folder, tmp_path):
    path = tmp_path / "captions.json"
    path.write_text(json.dumps({
        "images": [{"id": 7, "file_name": "b.png"}, {"id": 3, "file_name": "a.jpg"}],
        "annotations": [{"image_id": 3, "caption": "A dog."}, {"image_id": 7, "caption": "Cats"},
                        {"image_id": 3, "caption": "Another dog."}]}))
    data = read_captions(folder, path, size=(10, 10))
    assert dict(zip(data.names, data.captions, strict=True)) == {
        "a.jpg": ["A dog.", "Another dog."], "b.png": ["Cats"]}


@pytest.mark.parametrize("content, message", [
    ("a.jpg#0 no tab here\n", "line 1: expected '<image>#<k><TAB><caption>'"),
    ("a.jpg#0\tfine\nmissing.jpg#0\tA cat\n", "missing.jpg (line 2)"),
    ("a.jpg#0\t   \n", "line 1: the caption of a.jpg is empty"),
    ("\n\n", "holds no captions"),
])
def test_flickr_errors_name_line(folder, tmp_path, content, message):
    tokens = tmp_path / "t.txt"
    tokens.write_text(content)
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_flickr(folder, tokens, (8, 8))


def test_coco_caption_for_unknown_image(folder, tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"images": [{"id": 1, "file_name": "a.jpg"}],
                                "annotations": [{"image_id": 2, "caption": "x"}]}))
    with pytest.raises(InputError, match=r"annotations\[0\].*image_id 2"):
        read_coco(folder, path, (8, 8))


def test_unreadable_and_missing_images_are_named(tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not an image at all")
    with pytest.raises(InputError, match="broken.png cannot be read"):
        load_image(bad, (8, 8), 3)
    with pytest.raises(InputError, match="nope.png does not exist"):
        load_image(tmp_path / "nope.png", (8, 8), 3)


def test_caption_loader_pairs_each_caption_with_its_image():
    images = torch.arange(3, dtype=torch.uint8).view(3, 1, 1, 1).expand(3, 1, 2, 2).clone()
    loader = caption_loader(images, [0, 0, 2], [[5, 6], [7], [8, 9, 4]], bos=2, eos=3,
                            batch_size=8, shuffle=False)
    seen = []
    for (imgs, target_in), target_out in loader:
        for img, tin, tout in zip(imgs, target_in, target_out, strict=True):
            real = tout[tout != 0].tolist()
            assert tin[0] == 2 and real[-1] == 3 and tin[1:len(real)].tolist() == real[:-1]
            seen.append((int(img[0, 0, 0]), real[:-1]))
    assert sorted(seen) == [(0, [5, 6]), (0, [7]), (2, [8, 9, 4])]


def test_digit_scenes_captions_name_their_scans_in_reading_order():
    from sklearn.datasets import load_digits

    labels = load_digits().target
    scenes = digit_scenes("train", 200, seed=3)
    assert scenes.images.shape == (200, 1, 32, 96)
    counts = set()
    for caption, scans, boxes in zip(scenes.captions, scenes.scans, scenes.boxes, strict=True):
        assert caption[0] == " ".join(WORDS[labels[s]] for s in scans)
        xs = [x for x, _, _ in boxes]
        assert xs == sorted(xs)
        for (x, _, s), (x2, _, _) in zip(boxes, boxes[1:], strict=False):
            assert x + s <= x2  # left to right, no overlap
        counts.add(len(scans))
    assert counts == {1, 2, 3, 4, 5}
    again = digit_scenes("train", 200, seed=3)
    assert torch.equal(again.images, scenes.images)  # fixed by the seed


def test_digit_scene_pixels_are_the_scans():
    scenes = digit_scenes("test", 30, SceneConfig(min_size=8, max_size=8), seed=0)
    from sklearn.datasets import load_digits

    originals = load_digits().images
    for image, scans, boxes in zip(scenes.images, scenes.scans, scenes.boxes, strict=True):
        for scan, (x, y, s) in zip(scans, boxes, strict=True):
            patch = image[0, y:y + s, x:x + s].float() / 255
            assert torch.allclose(patch, torch.from_numpy(originals[scan] / 16).float(),
                                  atol=1 / 255 + 1e-6)


def test_train_val_test_use_disjoint_scans():
    scenes = {s: digit_scenes(s, 400, seed=0) for s in ("train", "val", "test")}
    used = {s: {k for scans in d.scans for k in scans} for s, d in scenes.items()}
    assert not used["train"] & used["test"]
    assert not used["train"] & used["val"] and not used["val"] & used["test"]
    pools = scan_pools(np.repeat(np.arange(10), 20), (0.6, 0.2, 0.2))
    assert sorted(np.concatenate(list(pools.values())).tolist()) == list(range(200))


def test_scene_config_errors():
    with pytest.raises(InputError, match="do not fit"):
        digit_scenes("train", 5, SceneConfig(max_digits=6, max_size=18))
    with pytest.raises(InputError, match="split 'dev'"):
        digit_scenes("dev", 5)


def test_training_batches_mix_caption_lengths():
    """Batches of one caption length would let batch norm count the digits in training."""
    images = torch.zeros(64, 1, 2, 2, dtype=torch.uint8)
    captions = [[4] * (1 + k % 5) for k in range(64)]
    loader = caption_loader(images, list(range(64)), captions, 2, 3, 16, shuffle=True)
    mixed = [len({int((row != 0).sum()) for row in target}) for _, target in loader]
    assert min(mixed) >= 3
