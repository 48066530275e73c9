"""Images with captions: the two formats people have on disk, and image loading.

* Flickr8k / Flickr30k style: a folder of images and a token file of
  ``<image file>#<k><TAB><caption>`` lines (the ``#k`` part is optional);
* COCO captions: a JSON file with ``images`` (``id``, ``file_name``) and ``annotations``
  (``image_id``, ``caption``).

Images are read with Pillow, converted to the requested channels (1: grey, 3: RGB), resized to
one size and kept as uint8 (N, C, H, W): a whole dataset stays compact in memory, and the model
normalises them itself. Errors name the file (and line) and say how to fix it.

    data = read_captions("Flickr8k_Dataset", "Flickr8k.token.txt", size=(128, 128))
    data.images.shape, data.captions[0]      # (8091, 3, 128, 128), ['A child in ...', ...]
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler

from rnnkit.data.text import pad_batch
from rnnkit.errors import InputError


@dataclass
class CaptionSet:
    """Images (N, C, H, W) uint8, their captions (at least one each) and their names."""

    images: Tensor
    captions: list[list[str]]
    names: list[str]
    origin: str = ""

    def __post_init__(self) -> None:
        if not len(self.images) == len(self.captions) == len(self.names):
            raise ValueError(f"{len(self.images)} images, {len(self.captions)} caption lists "
                             f"and {len(self.names)} names")
        if self.images.dtype != torch.uint8 or self.images.dim() != 4:
            raise ValueError("images are a uint8 tensor (N, C, H, W)")

    def __len__(self) -> int:
        return len(self.names)

    def subset(self, index: Sequence[int]) -> CaptionSet:
        """The images ``index`` (in that order) with their captions."""
        rows = torch.as_tensor(list(index), dtype=torch.long)
        return CaptionSet(self.images[rows], [self.captions[k] for k in index],
                          [self.names[k] for k in index], self.origin)


def load_image(path: str | Path, size: tuple[int, int], channels: int) -> Tensor:
    """One image file as uint8 (C, H, W), converted to ``channels`` (1 or 3) and resized to
    ``size`` = (H, W); a missing or unreadable file is an `InputError` naming it."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if channels not in (1, 3):
        raise ValueError(f"channels={channels}; expected 1 (grey) or 3 (RGB)")
    if not path.is_file():
        raise InputError(f"image {path} does not exist; check the file name")
    try:
        with Image.open(path) as image:
            image = image.convert("L" if channels == 1 else "RGB")
            if image.size != (size[1], size[0]):
                image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            array = np.asarray(image, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise InputError(f"image {path} cannot be read ({err}); give a PNG, JPEG or another "
                         "format Pillow reads") from err
    array = array[None] if channels == 1 else array.transpose(2, 0, 1)
    return torch.from_numpy(array.copy())


def load_images(paths: Sequence[str | Path], size: tuple[int, int], channels: int) -> Tensor:
    """Several image files as one uint8 tensor (N, C, H, W), in order."""
    if not paths:
        raise InputError("no images given; name at least one image file")
    return torch.stack([load_image(p, size, channels) for p in paths])


def _group(entries: list[tuple[str, str, str]], folder: Path, size: tuple[int, int],
           channels: int, origin: str) -> CaptionSet:
    """(file name, caption, where) entries -> a `CaptionSet`, images in first-seen order."""
    captions: dict[str, list[str]] = {}
    first_seen: dict[str, str] = {}
    for name, caption, where in entries:
        captions.setdefault(name, []).append(caption)
        first_seen.setdefault(name, where)
    missing = [(n, first_seen[n]) for n in captions if not (folder / n).is_file()]
    if missing:
        shown = "; ".join(f"{n} ({w})" for n, w in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise InputError(f"{len(missing)} captioned image(s) are not in {folder}: {shown}{more};"
                         " remove their captions or add the images")
    names = list(captions)
    images = load_images([folder / n for n in names], size, channels)
    return CaptionSet(images, [captions[n] for n in names], names, origin)


def _check_folder(images: Path) -> Path:
    images = Path(images)
    if not images.is_dir():
        raise InputError(f"--images {images} is not a folder; give the folder of the images")
    return images


def read_flickr(images: str | Path, captions: str | Path, size: tuple[int, int],
                channels: int = 3) -> CaptionSet:
    """A Flickr8k/30k-style token file (``image#k<TAB>caption`` per line) and its image
    folder. Blank lines are skipped; a line without a tab or with an empty caption, and a
    caption of an image not in the folder, are `InputError` s naming file and line."""
    folder, path = _check_folder(images), Path(captions)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError as err:
        raise InputError(f"--captions {path} does not exist") from err
    except UnicodeDecodeError as err:
        line = path.read_bytes()[: err.start].count(b"\n") + 1
        raise InputError(f"{path}, line {line}: bytes that are not UTF-8; save the file as "
                         "UTF-8") from err
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        if "\t" not in line:
            raise InputError(f"{where}: expected '<image>#<k><TAB><caption>', found no tab")
        key, caption = line.split("\t", 1)
        name = key.strip().rsplit("#", 1)[0] if "#" in key else key.strip()
        if not name:
            raise InputError(f"{where}: no image file name before the tab")
        if not caption.strip():
            raise InputError(f"{where}: the caption of {name} is empty")
        entries.append((name, caption.strip(), f"line {number}"))
    if not entries:
        raise InputError(f"{path} holds no captions")
    return _group(entries, folder, size, channels, str(path))


def _is_id(value: object) -> bool:
    """Whether a COCO id is usable: an integer (not a bool) or a text."""
    return isinstance(value, int | str) and not isinstance(value, bool)


def read_coco(images: str | Path, captions: str | Path, size: tuple[int, int],
              channels: int = 3) -> CaptionSet:
    """A COCO captions JSON file (``images``: ``id``, ``file_name``; ``annotations``:
    ``image_id``, ``caption``) and its image folder. Annotations of unknown image ids, images
    without a file and empty captions are `InputError` s naming them."""
    folder, path = _check_folder(images), Path(captions)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise InputError(f"--captions {path} does not exist") from err
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{path} is not valid UTF-8 JSON ({err})") from err
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) \
            or not isinstance(data.get("annotations"), list):
        raise InputError(f"{path}: a COCO captions file has 'images' and 'annotations' lists")
    files: dict[object, str] = {}
    for k, image in enumerate(data["images"]):
        if not isinstance(image, dict) or "id" not in image or "file_name" not in image:
            raise InputError(f"{path}: images[{k}] needs 'id' and 'file_name'")
        if not _is_id(image["id"]) or not isinstance(image["file_name"], str):
            raise InputError(f"{path}: images[{k}] needs an integer or text 'id' and a text "
                             f"'file_name'; found {image['id']!r} and {image['file_name']!r}")
        files[image["id"]] = image["file_name"]
    entries = []
    for k, note in enumerate(data["annotations"]):
        if not isinstance(note, dict) or "image_id" not in note or "caption" not in note:
            raise InputError(f"{path}: annotations[{k}] needs 'image_id' and 'caption'")
        if not _is_id(note["image_id"]) or note["image_id"] not in files:
            raise InputError(f"{path}: annotations[{k}] is a caption for image_id "
                             f"{note['image_id']!r}, which is not in 'images'")
        if not isinstance(note["caption"], str):
            raise InputError(f"{path}: annotations[{k}] has a caption that is not text "
                             f"({note['caption']!r})")
        caption = note["caption"].strip()
        if not caption:
            raise InputError(f"{path}: annotations[{k}] has an empty caption")
        entries.append((files[note["image_id"]], caption, f"annotations[{k}]"))
    if not entries:
        raise InputError(f"{path} holds no captions")
    return _group(entries, folder, size, channels, str(path))


def read_captions(images: str | Path, captions: str | Path, size: tuple[int, int],
                  channels: int = 3) -> CaptionSet:
    """COCO JSON (``.json``) or a Flickr token file (anything else), with its image folder."""
    reader = read_coco if Path(captions).suffix.lower() == ".json" else read_flickr
    return reader(images, captions, size, channels)


# ---- batches ----------------------------------------------------------------------------------


class CaptionBatches(Dataset):
    """(image, caption) pairs indexed by a list of indices, giving whole batches for teacher
    forcing: ``((images (B, C, H, W) uint8, target_in (B, T)), target_out (B, T))`` with
    ``target_in = <bos> y_1 .. y_n`` and ``target_out = y_1 .. y_n <eos>``, padded with 0.
    An image with several captions appears once per caption."""

    def __init__(self, images: Tensor, image_index: Sequence[int],
                 captions: Sequence[Sequence[int]], bos: int, eos: int) -> None:
        if len(image_index) != len(captions):
            raise ValueError(f"{len(image_index)} image indices but {len(captions)} captions")
        self.images = images
        self.image_index = torch.as_tensor(list(image_index), dtype=torch.long)
        self.target_in = [torch.as_tensor([bos, *c], dtype=torch.long) for c in captions]
        self.target_out = [torch.as_tensor([*c, eos], dtype=torch.long) for c in captions]

    def __len__(self) -> int:
        return len(self.target_in)

    def __getitem__(self, index: list[int]) -> tuple[tuple[Tensor, Tensor], Tensor]:
        target_in, _ = pad_batch([self.target_in[k] for k in index])
        target_out, _ = pad_batch([self.target_out[k] for k in index])
        return (self.images[self.image_index[index]], target_in), target_out


def caption_loader(images: Tensor, image_index: Sequence[int],
                   captions: Sequence[Sequence[int]], bos: int, eos: int, batch_size: int,
                   shuffle: bool, seed: int = 0) -> DataLoader:
    """A DataLoader of `CaptionBatches` in random order (seeded), not bucketed by length:
    captions are short, and batches of one caption length would tell the CNN's batch norm
    how many things the images hold, a cue that is gone at test time."""
    data = CaptionBatches(images, image_index, captions, bos, eos)
    generator = torch.Generator().manual_seed(seed)
    order = RandomSampler(data, generator=generator) if shuffle else SequentialSampler(data)
    return DataLoader(data, sampler=BatchSampler(order, batch_size, drop_last=False),
                      batch_size=None)
