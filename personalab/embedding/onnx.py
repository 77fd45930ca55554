"""A mean-pooling sentence-transformers model run by onnxruntime: exported once, cached, no torch.

all-MiniLM-L6-v2 embeds a short text in about 2.6 ms this way against 7.5 ms through
sentence-transformers and torch on this machine's 2 cores (the vectors agree to 1e-6), and a
process whose export is cached never imports torch (about 5 s of every start).
"""

from __future__ import annotations

import hashlib
import inspect
import io
import json
import os
import sys
import tempfile
import time
import warnings
from contextlib import suppress
from importlib import metadata
from pathlib import Path

import numpy as np

EXPORT_VERSION = "2"  # bump when the exported graph changes
BATCH = 64
_PLAIN = (
    "sentence_transformers.models.Transformer",
    "sentence_transformers.models.Pooling",
    "sentence_transformers.models.Normalize",
)
# sentence_bert_config.json keys this runner reproduces; any other changes the tokenizing
_KNOWN_SETTINGS = {"max_seq_length", "do_lower_case"}


def cache_dir() -> Path:
    """Where exported models are kept: PERSONALAB_CACHE_DIR, else the user's cache folder."""
    if folder := os.environ.get("PERSONALAB_CACHE_DIR"):
        return Path(folder)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "personalab"


def plain_layout(folder: Path) -> int | None:
    """The max sequence length of a folder holding Transformer + mean Pooling (+ Normalize),
    stated in its config and with no prompt or tokenizer option, the layout this runner
    reproduces exactly; None for any other model (sentence-transformers then runs it)."""
    try:
        modules = json.loads((folder / "modules.json").read_text())
        kinds = tuple(m["type"] for m in modules)
        pooling = next(m for m in modules if m["type"].endswith(".Pooling"))
        config = json.loads((folder / pooling["path"] / "config.json").read_text())
        bert = json.loads((folder / "sentence_bert_config.json").read_text())
        extra = folder / "config_sentence_transformers.json"
        prompts = json.loads(extra.read_text()) if extra.is_file() else {}
    except (OSError, ValueError, KeyError, StopIteration, TypeError):
        return None
    modes = {k: v for k, v in config.items() if k.startswith("pooling_mode_")}
    mean_only = modes.get("pooling_mode_mean_tokens") and sum(map(bool, modes.values())) == 1
    ok = (
        kinds in (_PLAIN, _PLAIN[:2])
        and mean_only
        and set(bert) <= _KNOWN_SETTINGS
        and not bert.get("do_lower_case")
        and isinstance(bert.get("max_seq_length"), int)
        and not any(prompts.get("prompts", {}).values())
        and not prompts.get("default_prompt_name")
    )
    return bert["max_seq_length"] if ok and (folder / "tokenizer.json").is_file() else None


def _cache_file(folder: Path) -> Path:
    """The export's file: named by the folder's path, keyed by what is in it and by the
    libraries that make the graph (a model updated in place gets a new export)."""
    where = str(folder.resolve())
    parts = [where, EXPORT_VERSION]
    for package in ("torch", "transformers", "sentence-transformers", "onnx"):
        with suppress(metadata.PackageNotFoundError):
            parts.append(f"{package}=={metadata.version(package)}")
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        stat = path.stat()
        parts.append(f"{path.relative_to(folder)}:{stat.st_size}:{stat.st_mtime_ns}")
    name = hashlib.sha256(where.encode()).hexdigest()[:12]
    key = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]
    return cache_dir() / "embedders" / f"{name}-{key}.onnx"


def _export(folder: Path) -> bytes:
    """The folder's transformer as an ONNX graph (loads torch and sentence-transformers)."""
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(folder), device="cpu")[0].auto_model.eval()
    # DistilBERT and MPNet take no token types: the graph then has no such input
    types = "token_type_ids" in inspect.signature(model.forward).parameters

    class Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, ids, mask, *rest):
            extra = {"token_type_ids": rest[0]} if rest else {}
            out = self.model(input_ids=ids, attention_mask=mask, **extra)
            return out.last_hidden_state

    # two texts of different lengths, so the padding mask is part of the traced graph
    ids = torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]])
    mask = (ids != 0).long()
    names = ["ids", "mask"] + (["types"] if types else [])
    inputs = (ids, mask) + ((torch.zeros_like(ids),) if types else ())
    axes = {0: "batch", 1: "tokens"}
    buffer = io.BytesIO()
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on branches an encoder never takes
        torch.onnx.export(
            Hidden(),
            inputs,
            buffer,
            input_names=names,
            output_names=["hidden"],
            dynamic_axes={name: axes for name in [*names, "hidden"]},
            opset_version=17,
            dynamo=False,
        )
    return buffer.getvalue()


def _cached_graph(target: Path, folder: Path) -> Path | bytes:
    """The exported graph: its cached file, else exported now (and cached when possible)."""
    if target.is_file():
        return target
    graph = _export(folder)
    tmp = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
        with os.fdopen(handle, "wb") as out:
            out.write(graph)
        os.replace(tmp, target)  # two processes exporting at once both end well
    except OSError as exc:  # read-only or full: run from memory, export again next start
        if tmp:
            with suppress(OSError):
                os.unlink(tmp)
        print(f"personalab: not caching the exported embedder ({exc})", file=sys.stderr)
        return graph
    _tidy(target)
    return target


def _tidy(target: Path) -> None:
    """Remove older exports of the same folder (about 90 MB each) and parts a killed process
    left behind (a day old: one being written now is younger)."""
    folder_key = target.name.split("-")[0]
    for stale in target.parent.glob(f"{folder_key}-*.onnx"):
        if stale != target:
            with suppress(OSError):
                stale.unlink()
    for part in target.parent.glob("*.part"):
        with suppress(OSError):
            if time.time() - part.stat().st_mtime > 86400:
                part.unlink()


class OnnxEncoder:
    """Normalized mean-pooled vectors of texts, as sentence-transformers computes them."""

    def __init__(self, folder: Path, max_tokens: int, target: Path) -> None:
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_tokens)
        padding = self._tokenizer.padding or {}
        pad = {k: padding[k] for k in ("pad_id", "pad_type_id", "pad_token") if k in padding}
        self._tokenizer.enable_padding(**pad)  # to the longest text of the batch
        try:
            self._start(_cached_graph(target, folder))
        except Exception:
            if not target.is_file():
                raise
            target.unlink(missing_ok=True)  # a damaged or unusable cache file: export again
            self._start(_cached_graph(target, folder))

    def _start(self, graph: Path | bytes) -> None:
        """A session on graph, tried once (a graph that cannot run fails here, not later)."""
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = min(os.cpu_count() or 1, 4)  # as the model's threads
        options.log_severity_level = 3
        # idle threads sleep instead of spinning: Chroma's write or query runs right after an
        # embedding, on the same 2 cores (a write at 10k: about 2 ms less, measured)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        source = str(graph) if isinstance(graph, Path) else graph
        self._session = onnxruntime.InferenceSession(
            source, options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        self.dimension = len(self._batch(["width"])[0])

    def encode(self, texts: list[str]) -> np.ndarray:
        # texts of like length batched together pad less (as sentence-transformers does)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), BATCH):
            chunk = order[start : start + BATCH]
            out[chunk] = self._batch([texts[i] for i in chunk])
        return out

    def _batch(self, texts: list[str]) -> np.ndarray:
        encoded = self._tokenizer.encode_batch(texts)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feed = {"ids": np.array([e.ids for e in encoded], dtype=np.int64), "mask": mask}
        if "types" in self._inputs:
            feed["types"] = np.array([e.type_ids for e in encoded], dtype=np.int64)
        (hidden,) = self._session.run(None, feed)
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(1) / np.clip(weights.sum(1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)


def load(source: str) -> OnnxEncoder | None:
    """An encoder for a local model folder of the plain layout; None for any other model, or
    when the export fails (the caller keeps sentence-transformers; the reason goes to stderr
    once: a marker beside the cache keeps later starts from trying again)."""
    folder = Path(source)
    max_tokens = plain_layout(folder) if folder.is_dir() else None
    if max_tokens is None:
        return None
    target = _cache_file(folder)  # stats every file of the folder: once per start
    failed = target.with_suffix(".failed")
    if failed.is_file():
        return None
    try:
        return OnnxEncoder(folder, max_tokens, target)
    except Exception as exc:  # onnx missing, an op the exporter lacks, a graph that fails
        print(f"personalab: embedding with torch ({type(exc).__name__}: {exc})", file=sys.stderr)
        with suppress(OSError):
            failed.parent.mkdir(parents=True, exist_ok=True)
            failed.write_text(f"{type(exc).__name__}: {exc}\n")
        return None
