"""Emoji artwork as an image data set: colour drawings (Noto Color Emoji) and line art (Symbola), offline.

Rendered emoji are small drawings of faces, animals, food, vehicles, buildings, clothes and tools: much closer to
ImageNet's objects than 28x28 grey clothing silhouettes, so pretrained features should pay on them. Everything
comes from three Debian packages (see :mod:`tlhelpers.assets`):

- ``unicode-data``: ``/usr/share/unicode/emoji/emoji-test.txt``, every emoji with its group, subgroup and name;
- ``fonts-noto-color-emoji``: ``NotoColorEmoji.ttf``, colour bitmaps (CBDT) that Pillow draws at size 109;
- ``fonts-symbola``: ``Symbola_hint.ttf``, black outline drawings of many of the same code points.

Items, not glyphs. ``emoji-test.txt`` lists 3,655 fully-qualified emoji, but most are variants of another one:
skin tones (``thumbs up: medium skin tone``), genders (``woman police officer``) and ZWJ sequences built on a
base (``black cat`` = cat + ZWJ + black square). A variant and its base are nearly the same drawing, so if they
fell on both sides of a train/test split the test would measure memory, not generalisation. Every sequence is
therefore grouped into one *item* by its first code point, with the gendered people merged (person, man and
woman are one item; so are child, boy, girl and older person, old man, old woman), and each item is drawn
once, by its base (its shortest sequence, the first in the file's order). The variants are left out. Flags (a
flag is two regional-indicator letters, artwork with nothing to learn) and the skin-tone / hair swatches
(``component`` lines) are left out too. What remains are 1,373 items. Artwork whose pixels are identical to an
earlier item's (in a given style) is removed before splitting, and so is artwork a font has no glyph for
(Symbola has none for 249 of the 1,373 items, ZWJ-only and newer emoji: :func:`coverage`).

Classes. Two label sets, chosen with these reasons:

- ``classes="groups"`` (default): the 8 Unicode groups (Smileys & Emotion, People & Body, Animals & Nature, Food
  & Drink, Travel & Places, Activities, Objects, Symbols). Not chosen by us, so nothing was tuned to make transfer
  look good; it uses every item (1,373 colour images, 1,124 line drawings), which gives a test set of 412 colour images, and even the
  smallest group (Activities, 85 items) keeps about 50 training items, so a label-budget curve can go up to 50
  labels per class. The groups are broad and mixed (Objects holds clothes, phones and tools), so accuracies
  stay far from 100% and differences between methods show.
- ``classes="objects"``: 9 object-like classes made of subgroups, each a kind of thing ImageNet has pictures
  of: animal, plant (flowers, plants, fruit, vegetables), food & drink, vehicle, place & building, clothing,
  sport & game, tool & household, electronics & music (660 colour items, 503 line drawings). Closer to ImageNet than the groups (no
  faces, hands or text-like symbols), but half the size: the smallest class (clothing, 47 items) keeps about
  28 training items, so budgets above 25 per class cannot be balanced.

Both label sets are in :data:`CLASS_SETS`. Splits are by item (each item is one image), stratified by class,
with an explicit ``random_state``; the split is drawn over all items of the class set *before* either style
drops the items it cannot draw, so an item is in the same fold in colour and in line art
(:func:`paired_styles`).

Augmentation: horizontal flips keep every label here (a mirrored animal is the same animal, a mirrored arrow or
letter is still a Symbol): they would not for item-level labels such as "left arrow" or letters.

Rendered arrays are cached in the course cache (``emoji/``), written atomically with SHA-256 checks
(:mod:`tlhelpers.cache`); a corrupted cache file is detected, removed and rendered again.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from tlhelpers.cache import cache_dir, load_checked_array, save_checked_array, sha256_file, stable_key

__all__ = [
    "EMOJI_TEST", "COLOUR_FONT", "LINE_FONT", "CLASS_SETS", "STYLES",
    "EmojiNotInstalledError", "EmojiItem", "EmojiData",
    "parse_emoji_test", "emoji_items", "render_emoji", "render_all", "coverage",
    "load_emoji", "paired_styles",
]

EMOJI_TEST = Path("/usr/share/unicode/emoji/emoji-test.txt")
COLOUR_FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
LINE_FONT = Path("/usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf")
_PACKAGES = {EMOJI_TEST: "unicode-data", COLOUR_FONT: "fonts-noto-color-emoji", LINE_FONT: "fonts-symbola"}
_ENV = {EMOJI_TEST: "TLHELPERS_EMOJI_TEST", COLOUR_FONT: "TLHELPERS_EMOJI_COLOUR_FONT",
        LINE_FONT: "TLHELPERS_EMOJI_LINE_FONT"}

STYLES = ("colour", "line")
_NOTO_SIZE = 109        # the only size at which the CBDT bitmaps are drawn
_SYMBOLA_SIZE = 100     # outlines: any size; about the colour bitmaps' size
_MARGIN = 0.08          # empty border around the glyph, as a fraction of the side
_RENDER_VERSION = 1     # bump when rendering changes, so old caches are not read

#: Status codes of :func:`render_all`.
OK, NO_GLYPH, DUPLICATE = 0, 1, 2

#: Class sets: name -> (class names, {class index: Unicode groups or subgroups}).
CLASS_SETS: dict[str, tuple[tuple[str, ...], dict[int, tuple[str, ...]]]] = {
    "groups": (
        ("Smileys & Emotion", "People & Body", "Animals & Nature", "Food & Drink", "Travel & Places",
         "Activities", "Objects", "Symbols"),
        {},  # filled below: one group each
    ),
    "objects": (
        ("animal", "plant", "food & drink", "vehicle", "place & building", "clothing", "sport & game",
         "tool & household", "electronics & music"),
        {
            0: ("animal-mammal", "animal-bird", "animal-amphibian", "animal-reptile", "animal-marine", "animal-bug"),
            1: ("plant-flower", "plant-other", "food-fruit", "food-vegetable"),
            2: ("food-prepared", "food-asian", "food-marine", "food-sweet", "drink", "dishware"),
            3: ("transport-ground", "transport-water", "transport-air"),
            4: ("place-map", "place-geographic", "place-building", "place-religious", "place-other", "hotel"),
            5: ("clothing",),
            6: ("sport", "game", "award-medal"),
            7: ("tool", "household", "science", "medical", "lock", "other-object"),
            8: ("phone", "computer", "light & video", "musical-instrument", "sound"),
        },
    ),
}
CLASS_SETS["groups"][1].update({i: (g,) for i, g in enumerate(CLASS_SETS["groups"][0])})

# Gendered people whose sequences are one item (first code point -> the item's key code point).
_SAME_PERSON = {0x1F468: 0x1F9D1, 0x1F469: 0x1F9D1,          # man, woman -> person
                0x1F466: 0x1F9D2, 0x1F467: 0x1F9D2,          # boy, girl -> child
                0x1F474: 0x1F9D3, 0x1F475: 0x1F9D3,          # old man, old woman -> older person
                0x1F46B: 0x1F9D1, 0x1F46C: 0x1F9D1, 0x1F46D: 0x1F9D1,  # people holding hands: person + ZWJ ...
                0x1F48F: 0x1F9D1, 0x1F491: 0x1F9D1}          # kiss, couple with heart: their variants start so
_SKIP_GROUPS = {"Flags", "Component"}


class EmojiNotInstalledError(FileNotFoundError):
    """An emoji font or the emoji list is not installed; the message says which Debian package to install."""


def _asset(path: Path) -> Path:
    """The file ``path`` (or the one its environment variable names), or a clear error naming its package."""
    env = os.environ.get(_ENV[path])
    found = Path(env) if env else path
    if not found.is_file():
        raise EmojiNotInstalledError(
            f"{found} not found: {_PACKAGES[path]} is not installed: apt-get install {_PACKAGES[path]} "
            f"(or run `python -m tlhelpers.assets --install`; set {_ENV[path]} to use another copy)")
    return found


@dataclass(frozen=True)
class EmojiItem:
    """One emoji item: its base sequence (drawn), its variants (not drawn) and where Unicode files it."""

    key: str                      # the item's id: hex of the key code point, e.g. "1F408"
    codepoints: tuple[int, ...]   # the base sequence that is drawn
    name: str
    group: str
    subgroup: str
    variants: tuple[tuple[int, ...], ...] = field(default=())  # every fully-qualified sequence of the item

    @property
    def text(self) -> str:
        return "".join(map(chr, self.codepoints))


def parse_emoji_test(path: str | os.PathLike[str] | None = None) -> list[dict]:
    """The fully-qualified lines of ``emoji-test.txt`` as dicts: codepoints, name, group, subgroup (file order)."""
    source = Path(path) if path is not None else _asset(EMOJI_TEST)
    rows, group, subgroup = [], None, None
    for line in source.read_text(encoding="utf-8").splitlines():
        if line.startswith("# group:"):
            group = line.split(":", 1)[1].strip()
        elif line.startswith("# subgroup:"):
            subgroup = line.split(":", 1)[1].strip()
        elif line.strip() and not line.startswith("#"):
            sequence, rest = line.split(";", 1)
            status, _, comment = rest.partition("#")
            if status.strip() != "fully-qualified":
                continue
            # comment: "<emoji> E<version> <name>"
            parts = comment.strip().split(" ", 2)
            name = parts[2] if len(parts) == 3 else comment.strip()
            rows.append({"codepoints": tuple(int(c, 16) for c in sequence.split()), "name": name,
                         "group": group, "subgroup": subgroup})
    if not rows:
        raise ValueError(f"{source} has no fully-qualified emoji lines: is it Unicode's emoji-test.txt?")
    return rows


def _item_key(codepoints: Sequence[int]) -> int:
    first = codepoints[0]
    return _SAME_PERSON.get(first, first)


def emoji_items(path: str | os.PathLike[str] | None = None) -> list[EmojiItem]:
    """One :class:`EmojiItem` per base emoji (file order), variants grouped, flags and components left out."""
    grouped: dict[int, list[dict]] = {}
    for row in parse_emoji_test(path):
        if row["group"] in _SKIP_GROUPS:
            continue
        grouped.setdefault(_item_key(row["codepoints"]), []).append(row)
    items = []
    for key, rows in grouped.items():
        base = min(rows, key=lambda r: len([c for c in r["codepoints"] if c != 0xFE0F]))  # first shortest
        items.append(EmojiItem(key=f"{key:04X}", codepoints=base["codepoints"], name=base["name"],
                               group=base["group"], subgroup=base["subgroup"],
                               variants=tuple(r["codepoints"] for r in rows)))
    return items


# ------------------------------------------------------------------------------------------------ rendering


def _font(style: str):
    if style == "colour":
        return _load_font(str(_asset(COLOUR_FONT)), _NOTO_SIZE)
    return _load_font(str(_asset(LINE_FONT)), _SYMBOLA_SIZE)


@lru_cache(maxsize=4)
def _load_font(path: str, size: int):
    from PIL import ImageFont

    return ImageFont.truetype(path, size)


@lru_cache(maxsize=2)
def _line_cmap(path: str) -> frozenset[int]:
    from fontTools.ttLib import TTFont  # a dependency of matplotlib

    font = TTFont(path, lazy=True)
    try:
        return frozenset(font.getBestCmap())
    finally:
        font.close()


def _has_glyph(style: str, codepoints: Sequence[int]) -> bool:
    """Whether ``style``'s font draws the sequence. Symbola has no ligatures, so only single code points."""
    if style == "colour":
        return True  # every RGI emoji of this Unicode version; an empty drawing is caught in render_emoji
    core = [c for c in codepoints if c != 0xFE0F]
    return len(core) == 1 and core[0] in _line_cmap(str(_asset(LINE_FONT)))


def _check_style(style: str) -> None:
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}, got {style!r}")


def _rgb(background: Sequence[int]) -> tuple[int, int, int]:
    rgb = tuple(int(v) for v in background)
    if len(rgb) != 3 or not all(0 <= v <= 255 for v in rgb):
        raise ValueError(f"background must be an RGB triple of 0-255 integers, got {background!r}")
    return rgb  # type: ignore[return-value]


def _draw_rgba(text: str, style: str):
    """The glyph drawn on a transparent canvas, cropped to its ink (None when nothing is drawn)."""
    from PIL import Image, ImageDraw

    font = _font(style)
    canvas = Image.new("RGBA", (220, 220), (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    if style == "colour":
        draw.text((20, 20), text, font=font, embedded_color=True)
    else:
        draw.text((40, 40), text, font=font, fill=(0, 0, 0, 255))
    box = canvas.getbbox()
    return canvas.crop(box) if box else None


def render_emoji(codepoints: Sequence[int] | str, style: str = "colour", size: int = 64,
                 background: Sequence[int] = (255, 255, 255)) -> np.ndarray | None:
    """Draw one emoji as a ``(size, size, 3)`` uint8 RGB image, centred on ``background``; None if no glyph.

    The glyph is cropped to its ink, centred on a square with an 8% margin and resized with Lanczos filtering,
    so that every emoji fills the image the same way whatever its font's metrics.
    """
    from PIL import Image

    _check_style(style)
    if not isinstance(size, (int, np.integer)) or size < 8:
        raise ValueError(f"size must be an integer >= 8, got {size!r}")
    seq = [ord(c) for c in codepoints] if isinstance(codepoints, str) else list(codepoints)
    if not _has_glyph(style, seq):
        return None
    glyph = _draw_rgba("".join(map(chr, seq)), style)
    if glyph is None:
        return None
    side = int(round(max(glyph.size) / (1 - 2 * _MARGIN)))
    square = Image.new("RGBA", (side, side), (*_rgb(background), 255))
    square.alpha_composite(glyph, ((side - glyph.width) // 2, (side - glyph.height) // 2))
    image = square.convert("RGB").resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(image, dtype=np.uint8)


def _render_key(style: str, size: int, background: tuple[int, int, int]) -> str:
    font = _asset(COLOUR_FONT if style == "colour" else LINE_FONT)
    return stable_key("emoji", _RENDER_VERSION, style, size, list(background), _file_id(font),
                      _file_id(_asset(EMOJI_TEST)))


@lru_cache(maxsize=8)
def _file_id_cached(path: str, mtime_ns: int, length: int) -> str:
    return sha256_file(path)


def _file_id(path: Path) -> str:
    stat = path.stat()
    return _file_id_cached(str(path), stat.st_mtime_ns, stat.st_size)


def render_all(style: str = "colour", size: int = 64, background: Sequence[int] = (255, 255, 255),
               cache: bool = True, progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Draw every item of :func:`emoji_items` in ``style``: ``(images (n, size, size, 3) uint8, status (n,))``.

    ``status`` is :data:`OK`, :data:`NO_GLYPH` (the font has none; the image is all background) or
    :data:`DUPLICATE` (the same pixels as an earlier item's, compared at full resolution before resizing).
    Cached by style, size, background and the SHA-256 of the font and the emoji list.
    """
    _check_style(style)
    rgb = _rgb(background)
    paths = None
    if cache:
        key = _render_key(style, int(size), rgb)
        folder = cache_dir("emoji")
        paths = (folder / f"{style}-{size}-{key}-images.npy", folder / f"{style}-{size}-{key}-status.npy")
        images, status = load_checked_array(paths[0]), load_checked_array(paths[1])
        if images is not None and status is not None and len(images) == len(status):
            return images, status
    items = emoji_items()
    images = np.empty((len(items), size, size, 3), np.uint8)
    images[:] = rgb
    status = np.full(len(items), NO_GLYPH, np.uint8)
    seen: set[str] = set()
    iterator: Iterable = items
    if progress:
        from tqdm.auto import tqdm
        iterator = tqdm(items, desc=f"rendering {style} emoji", unit="emoji")
    for i, item in enumerate(iterator):
        if not _has_glyph(style, item.codepoints):
            continue
        glyph = _draw_rgba(item.text, style)
        if glyph is None:
            continue
        digest = hashlib.sha256(glyph.tobytes() + str(glyph.size).encode()).hexdigest()
        if digest in seen:
            status[i] = DUPLICATE
            continue
        seen.add(digest)
        image = render_emoji(item.codepoints, style, size, rgb)
        if image is not None:
            images[i], status[i] = image, OK
    if paths is not None:
        save_checked_array(paths[0], images)
        save_checked_array(paths[1], status)
    return images, status


def coverage() -> dict[str, dict[str, int]]:
    """How many items each style draws, lacks a glyph for, or drops as duplicates (at 32 px, cached)."""
    report = {}
    for style in STYLES:
        _, status = render_all(style, 32)
        report[style] = {"items": len(status), "drawn": int((status == OK).sum()),
                         "no_glyph": int((status == NO_GLYPH).sum()), "duplicate": int((status == DUPLICATE).sum())}
    return report


# ------------------------------------------------------------------------------------------------ data set


@dataclass
class EmojiData:
    """An emoji data set: images, labels and a split by item (indices into the arrays)."""

    images: np.ndarray            # (n, size, size, 3) uint8 RGB
    labels: np.ndarray            # (n,) int64
    class_names: tuple[str, ...]
    item_ids: np.ndarray          # (n,) str: the item key, e.g. "1F408"
    codepoints: list[tuple[int, ...]]
    names: list[str]
    train: np.ndarray             # indices
    val: np.ndarray
    test: np.ndarray
    style: str
    classes: str

    def __len__(self) -> int:
        return len(self.labels)

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(images, labels)`` of ``"train"``, ``"val"`` or ``"test"``."""
        if name not in ("train", "val", "test"):
            raise ValueError(f"split must be 'train', 'val' or 'test', got {name!r}")
        idx = getattr(self, name)
        return self.images[idx], self.labels[idx]

    def subset(self, keep: np.ndarray) -> "EmojiData":
        """The data set restricted to the rows ``keep`` (boolean mask or sorted indices), splits remapped."""
        keep_idx = np.flatnonzero(keep) if np.asarray(keep).dtype == bool else np.asarray(keep, int)
        remap = np.full(len(self), -1)
        remap[keep_idx] = np.arange(len(keep_idx))

        def fold(idx: np.ndarray) -> np.ndarray:
            new = remap[idx]
            return new[new >= 0]

        return EmojiData(self.images[keep_idx], self.labels[keep_idx], self.class_names, self.item_ids[keep_idx],
                         [self.codepoints[i] for i in keep_idx], [self.names[i] for i in keep_idx],
                         fold(self.train), fold(self.val), fold(self.test), self.style, self.classes)


def _labels_for(items: list[EmojiItem], classes: str) -> tuple[tuple[str, ...], np.ndarray]:
    if classes not in CLASS_SETS:
        raise ValueError(f"classes must be one of {sorted(CLASS_SETS)}, got {classes!r}")
    names, members = CLASS_SETS[classes]
    lookup = {part: label for label, parts in members.items() for part in parts}
    field_name = "group" if classes == "groups" else "subgroup"
    labels = np.array([lookup.get(getattr(item, field_name), -1) for item in items])
    return names, labels


def _split(labels: np.ndarray, val_fraction: float, test_fraction: float, random_state: int
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    if not (0 < test_fraction < 1 and 0 <= val_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError("val_fraction and test_fraction must be in [0, 1) and sum to less than 1")
    idx = np.arange(len(labels))
    rest, test = train_test_split(idx, test_size=test_fraction, random_state=random_state, stratify=labels)
    if val_fraction == 0:
        return np.sort(rest), np.array([], int), np.sort(test)
    train, val = train_test_split(rest, test_size=val_fraction / (1 - test_fraction), random_state=random_state,
                                  stratify=labels[rest])
    return np.sort(train), np.sort(val), np.sort(test)


def load_emoji(classes: str = "groups", style: str = "colour", size: int = 64, random_state: int = 0,
               background: Sequence[int] = (255, 255, 255), val_fraction: float = 0.1,
               test_fraction: float = 0.3, cache: bool = True, progress: bool = False) -> EmojiData:
    """Emoji of the class set ``classes`` drawn in ``style`` at ``size`` px, with a split by item.

    ``classes``: ``"groups"`` (8 Unicode groups, 1,373 colour items) or ``"objects"`` (9 object-like classes,
    660 colour items); see the module docstring for why. ``style``: ``"colour"`` (Noto Color Emoji) or
    ``"line"`` (Symbola line art: fewer items, those it has a glyph for). The split (train/val/test, stratified
    by class, ``random_state``) is drawn over every item of the class set before a style drops the items it
    cannot draw or that duplicate another's artwork, so the same item is in the same fold in both styles.
    Rendered images are cached (atomically, SHA-256 checked) in the course cache.
    """
    _check_style(style)
    items = emoji_items()
    class_names, labels = _labels_for(items, classes)
    in_set = np.flatnonzero(labels >= 0)
    train, val, test = _split(labels[in_set], val_fraction, test_fraction, random_state)
    images, status = render_all(style, size, background, cache=cache, progress=progress)
    rows = in_set
    data = EmojiData(images[rows], labels[rows].astype(np.int64), class_names,
                     np.array([items[i].key for i in rows]), [items[i].codepoints for i in rows],
                     [items[i].name for i in rows], train, val, test, style, classes)
    return data.subset(status[rows] == OK)


def paired_styles(classes: str = "groups", size: int = 64, random_state: int = 0,
                  background: Sequence[int] = (255, 255, 255), val_fraction: float = 0.1,
                  test_fraction: float = 0.3, cache: bool = True) -> tuple[EmojiData, EmojiData]:
    """The items drawn in both styles: ``(colour, line)`` with the same rows, labels and splits.

    Row ``i`` is the same emoji in both; the source/target pair of the domain-adaptation assignment.
    """
    kwargs = dict(classes=classes, size=size, random_state=random_state, background=background,
                  val_fraction=val_fraction, test_fraction=test_fraction, cache=cache)
    colour, line = load_emoji(style="colour", **kwargs), load_emoji(style="line", **kwargs)
    common = np.intersect1d(colour.item_ids, line.item_ids)
    return colour.subset(np.isin(colour.item_ids, common)), line.subset(np.isin(line.item_ids, common))
