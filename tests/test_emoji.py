"""tlhelpers.emoji (items, rendering, cache, splits) and the augmentation modules of both frameworks."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import tlhelpers.emoji as emoji

pytestmark = pytest.mark.skipif(
    not (emoji.EMOJI_TEST.is_file() and emoji.COLOUR_FONT.is_file() and emoji.LINE_FONT.is_file()),
    reason="emoji assets not installed: python -m tlhelpers.assets --install")

SKIN_TONES = set(range(0x1F3FB, 0x1F400))
REGIONAL_INDICATORS = set(range(0x1F1E6, 0x1F200))
CAT, DOG, THUMBS_UP, POLICE = 0x1F408, 0x1F415, 0x1F44D, 0x1F46E


@pytest.fixture(scope="module")
def items():
    return emoji.emoji_items()


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """Both styles of both class sets at 16 px, rendered once into a private cache for this module."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TLHELPERS_CACHE", str(tmp_path_factory.mktemp("emoji-cache")))
        yield {(classes, style): emoji.load_emoji(classes, style, 16, random_state=0)
               for classes in emoji.CLASS_SETS for style in emoji.STYLES}


def _few_items(items, *keys):
    by_key = {item.key: item for item in items}
    return [by_key[f"{k:04X}"] for k in keys]


# ------------------------------------------------------------------------------------------------ parsing


def test_import_needs_no_framework():
    code = ("import sys, tlhelpers.emoji; "
            "bad = [m for m in ('torch', 'tensorflow', 'keras', 'PIL', 'fontTools') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_parse_keeps_fully_qualified_lines_only(tmp_path):
    text = (
        "# group: Animals & Nature\n# subgroup: animal-mammal\n"
        "1F408                                  ; fully-qualified     # \U0001F408 E0.7 cat\n"
        "1F408 200D 2B1B                        ; fully-qualified     # x E13.0 black cat\n"
        "263A                                   ; unqualified         # x E0.6 smiling face\n"
        "# group: Component\n# subgroup: skin-tone\n"
        "1F3FB                                  ; component           # x E1.0 light skin tone\n"
        "# group: Flags\n# subgroup: country-flag\n"
        "1F1EB 1F1F7                            ; fully-qualified     # x E0.6 flag: France\n")
    path = tmp_path / "emoji-test.txt"
    path.write_text(text, encoding="utf-8")
    rows = emoji.parse_emoji_test(path)
    assert [r["name"] for r in rows] == ["cat", "black cat", "flag: France"]
    assert rows[0] == {"codepoints": (CAT,), "name": "cat", "group": "Animals & Nature", "subgroup": "animal-mammal"}
    items = emoji.emoji_items(path)
    assert len(items) == 1 and items[0].codepoints == (CAT,) and len(items[0].variants) == 2


def test_parse_rejects_a_file_without_emoji(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("# nothing here\n")
    with pytest.raises(ValueError, match="no fully-qualified"):
        emoji.parse_emoji_test(path)


def test_variants_are_one_item_and_flags_are_out(items):
    keys = [item.key for item in items]
    assert len(keys) == len(set(keys))
    assert all(item.group not in ("Flags", "Component") for item in items)
    for item in items:
        assert not set(item.codepoints) & (SKIN_TONES | REGIONAL_INDICATORS), item
        assert item.codepoints in item.variants
    by_key = {item.key: item for item in items}
    thumbs = by_key[f"{THUMBS_UP:04X}"]
    assert thumbs.codepoints == (THUMBS_UP,) and (THUMBS_UP, 0x1F3FD) in thumbs.variants  # skin tones
    police = by_key[f"{POLICE:04X}"]
    assert (POLICE, 0x200D, 0x2642, 0xFE0F) in police.variants and (POLICE, 0x200D, 0x2640, 0xFE0F) in police.variants
    assert (CAT, 0x200D, 0x2B1B) in by_key[f"{CAT:04X}"].variants  # ZWJ sequence: black cat
    # person, man and woman are one item, so "man technologist" and "woman technologist" cannot be split
    person = by_key["1F9D1"]
    assert (0x1F468,) in person.variants and (0x1F469,) in person.variants
    assert "1F468" not in by_key and "1F469" not in by_key
    every_variant = [v for item in items for v in item.variants]
    assert len(every_variant) == len(set(every_variant))


def test_class_sets_use_real_groups_and_subgroups(items):
    groups = {item.group for item in items}
    subgroups = {item.subgroup for item in items}
    for classes, (names, members) in emoji.CLASS_SETS.items():
        assert sorted(members) == list(range(len(names)))
        parts = [p for ps in members.values() for p in ps]
        assert len(parts) == len(set(parts)), f"{classes}: a group or subgroup is in two classes"
        assert set(parts) <= (groups if classes == "groups" else subgroups)


# ------------------------------------------------------------------------------------------------ rendering


@pytest.mark.parametrize("style", emoji.STYLES)
def test_render_shape_dtype_and_background(style):
    image = emoji.render_emoji([CAT], style, size=32, background=(10, 200, 30))
    assert image.shape == (32, 32, 3) and image.dtype == np.uint8
    assert tuple(image[0, 0]) == (10, 200, 30)  # the margin is background
    assert (np.abs(image.astype(int) - [10, 200, 30]).sum(-1) > 60).mean() > 0.1  # and the cat is drawn


def test_render_returns_none_without_a_glyph(items):
    missing = next(item for item in items if not emoji._has_glyph("line", item.codepoints))
    assert emoji.render_emoji(missing.codepoints, "line", 16) is None
    assert emoji.render_emoji(missing.codepoints, "colour", 16) is not None


def test_render_rejects_bad_arguments():
    with pytest.raises(ValueError, match="style"):
        emoji.render_emoji([CAT], "sketch")
    with pytest.raises(ValueError, match="size"):
        emoji.render_emoji([CAT], "colour", size=4)
    with pytest.raises(ValueError, match="background"):
        emoji.render_emoji([CAT], "colour", background=(300, 0, 0))


def test_duplicated_artwork_is_removed(monkeypatch, private_cache, items):
    cat, dog = _few_items(items, CAT, DOG)
    copy = emoji.EmojiItem("F0000", cat.codepoints, "cat again", cat.group, cat.subgroup, (cat.codepoints,))
    monkeypatch.setattr(emoji, "emoji_items", lambda path=None: [cat, dog, copy])
    images, status = emoji.render_all("colour", 16)
    assert status.tolist() == [emoji.OK, emoji.OK, emoji.DUPLICATE]
    assert images.shape == (3, 16, 16, 3) and images.dtype == np.uint8


def test_render_cache_round_trip_and_corruption(monkeypatch, private_cache, items):
    monkeypatch.setattr(emoji, "emoji_items", lambda path=None: _few_items(items, CAT, DOG, THUMBS_UP))
    images, status = emoji.render_all("line", 16)
    files = sorted(private_cache.glob("emoji/line-16-*-images.npy"))
    assert len(files) == 1 and files[0].with_name(files[0].name + ".sha256").is_file()

    def no_drawing(*args, **kwargs):
        raise AssertionError("rendered again instead of reading the cache")

    monkeypatch.setattr(emoji, "_draw_rgba", no_drawing)
    again, again_status = emoji.render_all("line", 16)
    np.testing.assert_array_equal(again, images)
    np.testing.assert_array_equal(again_status, status)

    raw = bytearray(files[0].read_bytes())
    raw[-5] ^= 0xFF  # one pixel changed on disk
    files[0].write_bytes(bytes(raw))
    with pytest.raises(AssertionError, match="rendered again"):  # the corrupted cache is not read
        emoji.render_all("line", 16)
    monkeypatch.undo()
    monkeypatch.setattr(emoji, "emoji_items", lambda path=None: _few_items(items, CAT, DOG, THUMBS_UP))
    fresh, _ = emoji.render_all("line", 16)
    np.testing.assert_array_equal(fresh, images)


@pytest.mark.parametrize("variable, package", [
    ("TLHELPERS_EMOJI_COLOUR_FONT", "fonts-noto-color-emoji"),
    ("TLHELPERS_EMOJI_LINE_FONT", "fonts-symbola"),
    ("TLHELPERS_EMOJI_TEST", "unicode-data"),
])
def test_missing_package_says_what_to_install(monkeypatch, tmp_path, private_cache, variable, package):
    monkeypatch.setenv(variable, str(tmp_path / "nowhere.ttf"))
    with pytest.raises(emoji.EmojiNotInstalledError, match=f"not installed: apt-get install {package}"):
        emoji.load_emoji("groups", "colour" if package != "fonts-symbola" else "line", 16)


def test_assets_register_the_three_packages():
    from tlhelpers.assets import ASSETS

    packages = {a.package: a for a in ASSETS}
    for path, package in emoji._PACKAGES.items():
        assert packages[package].probe == str(path) and packages[package].group == "course"


# ------------------------------------------------------------------------------------------------ data sets


@pytest.mark.parametrize("classes", list(emoji.CLASS_SETS))
@pytest.mark.parametrize("style", emoji.STYLES)
def test_splits_are_by_item_and_stratified(small, classes, style):
    data = small[classes, style]
    n = len(data)
    assert data.images.shape == (n, 16, 16, 3) and data.images.dtype == np.uint8
    assert data.labels.dtype == np.int64 and set(np.unique(data.labels)) == set(range(len(data.class_names)))
    folds = [set(data.item_ids[f]) for f in (data.train, data.val, data.test)]
    assert not (folds[0] & folds[1] or folds[0] & folds[2] or folds[1] & folds[2]), "an item is in two folds"
    assert sorted(np.concatenate([data.train, data.val, data.test]).tolist()) == list(range(n))
    assert len(set(data.item_ids)) == n
    share = np.bincount(data.labels[data.test], minlength=len(data.class_names)) / np.bincount(data.labels)
    assert 0.15 < share.min() and share.max() < 0.45, share  # every class in the test fold, about 30%
    x, y = data.split("test")
    assert len(x) == len(y) == len(data.test)


def test_colour_has_every_item_and_line_fewer(small):
    for classes in emoji.CLASS_SETS:
        colour, line = small[classes, "colour"], small[classes, "line"]
        assert set(line.item_ids) < set(colour.item_ids)
    assert len(small["groups", "colour"]) > 1300 and len(small["groups", "colour"].test) > 350


def test_no_duplicate_images_within_a_style(small):
    for style in emoji.STYLES:
        data = small["groups", style]
        # at 16 px two different drawings may coincide; at full size (checked when rendering) none do
        assert len({img.tobytes() for img in data.images}) > 0.97 * len(data)


def test_split_follows_random_state(small):
    a = small["objects", "colour"]
    b = emoji.load_emoji("objects", "colour", 16, random_state=0)
    c = emoji.load_emoji("objects", "colour", 16, random_state=1)
    np.testing.assert_array_equal(a.test, b.test)
    assert not np.array_equal(a.test, c.test)


def test_paired_styles_share_rows_labels_and_folds(small):
    colour, line = emoji.paired_styles("objects", 16, random_state=0)
    assert len(colour) == len(line) == len(small["objects", "line"])
    np.testing.assert_array_equal(colour.item_ids, line.item_ids)
    np.testing.assert_array_equal(colour.labels, line.labels)
    for fold in ("train", "val", "test"):
        np.testing.assert_array_equal(getattr(colour, fold), getattr(line, fold))
    # the folds are the ones each style has on its own: no item changes fold between domains
    alone = small["objects", "colour"]
    assert set(colour.item_ids[colour.test]) <= set(alone.item_ids[alone.test])
    assert not np.array_equal(colour.images, line.images)


def test_bad_class_set_is_named():
    with pytest.raises(ValueError, match="classes must be one of"):
        emoji.load_emoji("animals", "colour", 16)


@pytest.mark.slow
def test_coverage_of_every_item(private_cache):
    report = emoji.coverage()
    assert report["colour"]["drawn"] == report["colour"]["items"] > 1300
    assert 0.7 * report["line"]["items"] < report["line"]["drawn"] < report["line"]["items"]
    for style in emoji.STYLES:
        counts = report[style]
        assert counts["drawn"] + counts["no_glyph"] + counts["duplicate"] == counts["items"]


# ------------------------------------------------------------------------------------------------ augmentation


def _batch(size: int = 32) -> np.ndarray:
    items = emoji.emoji_items()
    picked = _few_items(items, CAT, DOG, THUMBS_UP, 0x1F697, 0x1F34E, 0x1F3E0, 0x1F455, 0x1F528)
    return np.stack([emoji.render_emoji(item.codepoints, "colour", size) for item in picked])


def _nearest_is_itself(original: np.ndarray, augmented: np.ndarray) -> bool:
    """Each augmented image is closer to its own original (or its mirror) than to any other original."""
    a = augmented.reshape(len(augmented), -1).astype(float)
    both = [original, original[:, :, ::-1]]
    dist = np.min([((a[:, None] - o.reshape(len(o), -1)[None].astype(float)) ** 2).sum(-1) for o in both], 0)
    return bool((dist.argmin(1) == np.arange(len(a))).all())


STRONG = dict(rotation=0.05, zoom=0.15, translation=0.1, flip=True, background=0.5)
MILD = dict(rotation=0.03, zoom=0.1, translation=0.05, flip=True, background=0.0)
NONE = dict(rotation=0.0, zoom=0.0, translation=0.0, flip=False, background=0.0)


def test_torch_augmentation():
    import torch

    import tlhelpers.torch as tt

    images = _batch()
    x = torch.from_numpy(images).permute(0, 3, 1, 2)
    out = tt.augmentation(**STRONG, seed=0)(x)
    assert out.shape == x.shape and out.dtype == torch.float32
    assert float(out.min()) >= -1e-3 and float(out.max()) <= 255 + 1e-3
    assert not torch.equal(out, x.float())
    torch.testing.assert_close(tt.augmentation(**STRONG, seed=0)(x), out)                 # seeded
    assert not torch.allclose(tt.augmentation(**STRONG, seed=1)(x), out)
    torch.testing.assert_close(tt.augmentation(**NONE, seed=0)(x), x.float())             # zero strength
    torch.testing.assert_close(tt.augmentation(**STRONG, seed=0).eval()(x), x.float())    # eval mode
    mild = tt.augmentation(**MILD, seed=0)(x).permute(0, 2, 3, 1).numpy()
    assert _nearest_is_itself(images, mild)
    # uncovered corners are filled with the background, not black; a recoloured background is not white
    turned = tt.augmentation(rotation=0.125, zoom=0, translation=0, flip=False, background=0, seed=0)(x)
    assert float(turned[:, :, 0, 0].min()) > 250
    recoloured = tt.augmentation(**dict(NONE, background=1.0), seed=0)(x)
    assert float((recoloured[:, :, 0, 0] - 255).abs().amax(1).min()) > 1
    far = torch.from_numpy(np.abs(images.astype(float) - 255).max(-1) > 24)  # the drawing: kept as it was
    torch.testing.assert_close(recoloured.permute(0, 2, 3, 1)[far], x.permute(0, 2, 3, 1).float()[far])
    with pytest.raises(ValueError, match="N, 3, H, W"):
        tt.augmentation()(torch.zeros(2, 32, 32, 3))
    with pytest.raises(ValueError, match="rotation"):
        tt.augmentation(rotation=2)


def test_keras_augmentation():
    import tlhelpers.keras as tk

    images = _batch()
    x = images.astype("float32")
    out = np.asarray(tk.augmentation(**STRONG, seed=0)(x, training=True))
    assert out.shape == x.shape and out.dtype == np.float32
    assert out.min() >= -1e-3 and out.max() <= 255 + 1e-3 and not np.array_equal(out, x)
    np.testing.assert_allclose(np.asarray(tk.augmentation(**STRONG, seed=0)(x, training=True)), out)
    assert not np.allclose(np.asarray(tk.augmentation(**STRONG, seed=1)(x, training=True)), out)
    np.testing.assert_array_equal(np.asarray(tk.augmentation(**NONE, seed=0)(x, training=True)), x)
    np.testing.assert_array_equal(np.asarray(tk.augmentation(**STRONG, seed=0)(x, training=False)), x)
    assert _nearest_is_itself(images, np.asarray(tk.augmentation(**MILD, seed=0)(x, training=True)))
    turned = np.asarray(tk.augmentation(rotation=0.125, zoom=0, translation=0, flip=False, background=0,
                                        seed=0)(x, training=True))
    assert turned[:, 0, 0].min() > 250
    recoloured = np.asarray(tk.augmentation(**dict(NONE, background=1.0), seed=0)(x, training=True))
    assert np.abs(recoloured[:, 0, 0] - 255).max(1).min() > 1
    far = np.abs(x - 255).max(-1) > 24  # the drawing: kept as it was
    np.testing.assert_array_equal(recoloured[far], x[far])
    assert [type(layer).__name__ for layer in tk.augmentation(**STRONG).layers] == [
        "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomBackground"]
