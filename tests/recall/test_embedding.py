"""The embedder: onnxruntime gives sentence-transformers' vectors, faster, without torch."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from personalab import Embedder
from personalab.embedding.embedder import bundled_model_path

TEXTS = [
    "I have coeliac disease, so anything with wheat makes me ill.",
    "Which pasta dish should I cook for my friends on Friday?",
    "ok",
    "ünïcødé ✓ 東京 🙂",
    "a long turn " * 300,  # past the model's 256 tokens: cut where sentence-transformers cuts
]


def test_the_fast_embedder_gives_the_vectors_sentence_transformers_gives(tmp_path, monkeypatch):
    """The onnxruntime embedder gives sentence-transformers' vectors, in a batch or alone."""
    monkeypatch.setenv("PERSONALAB_CACHE_DIR", str(tmp_path))
    fast = Embedder()
    assert fast.runtime == "onnxruntime"
    assert list(tmp_path.glob("embedders/*.onnx"))  # exported once, kept for the next start
    slow = Embedder(runtime="torch")
    assert slow.runtime == "torch"
    together = np.array(fast.embed(TEXTS))  # one padded batch
    alone = np.array([fast.embed_one(t + " ") for t in TEXTS])
    expected = np.array(slow.embed(TEXTS))
    assert np.abs(together - expected).max() < 1e-5
    assert np.abs(alone - np.array(slow.embed([t + " " for t in TEXTS]))).max() < 1e-5
    assert fast.dimension == slow.dimension == 384


@pytest.mark.slow
def test_a_new_process_with_the_export_cached_never_imports_torch(embedder):
    """Once exported, a new process embeds on onnxruntime without loading torch."""
    code = (
        "import sys; from personalab import Embedder; e = Embedder(); "
        "print(e.runtime, 'torch' in sys.modules, len(e.embed_one('hello')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["onnxruntime", "False", "384"]


def test_a_damaged_cached_export_is_made_again(tmp_path, monkeypatch, embedder):
    """A damaged cached export is exported again, and embedding still works."""
    monkeypatch.setenv("PERSONALAB_CACHE_DIR", str(tmp_path))
    Embedder()
    (cached,) = tmp_path.glob("embedders/*.onnx")
    cached.write_bytes(b"half a file")
    again = Embedder()
    assert again.runtime == "onnxruntime"
    assert cached.stat().st_size > 1_000_000
    assert np.allclose(again.embed_one(TEXTS[0]), embedder.embed_one(TEXTS[0]), atol=1e-5)


def test_a_model_of_another_layout_stays_on_sentence_transformers(tmp_path, monkeypatch):
    """CLS pooling is not what the fast path computes: that model keeps torch."""
    monkeypatch.setenv("PERSONALAB_CACHE_DIR", str(tmp_path / "cache"))
    source, folder = bundled_model_path(), tmp_path / "cls-model"
    for path in source.rglob("*"):
        if path.is_file():
            (folder / path.relative_to(source)).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(path, folder / path.relative_to(source))
    pooling = folder / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text()) | {
        "pooling_mode_cls_token": True,
        "pooling_mode_mean_tokens": False,
    }
    pooling.unlink()
    pooling.write_text(json.dumps(config))
    other = Embedder(str(folder))
    assert other.runtime == "torch"
    assert not (tmp_path / "cache").exists()
    assert len(other.embed_one("hello")) == 384


def test_an_unwritable_cache_still_embeds_fast_and_says_why(tmp_path, monkeypatch, capfd):
    """An unwritable cache folder still embeds on onnxruntime and says why it kept nothing."""
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would go")
    monkeypatch.setenv("PERSONALAB_CACHE_DIR", str(blocked))
    fast = Embedder()
    assert fast.runtime == "onnxruntime"
    assert "not caching the exported embedder" in capfd.readouterr().err
    assert len(fast.embed_one("hello")) == 384


def test_a_model_without_token_types_runs_on_onnxruntime_too(tmp_path, monkeypatch):
    """DistilBERT (as MPNet) takes no token types: its export has no such input, and it gives
    sentence-transformers' vectors. A small random one is built here, offline."""
    import shutil

    import torch
    from transformers import DistilBertConfig, DistilBertModel

    monkeypatch.setenv("PERSONALAB_CACHE_DIR", str(tmp_path / "cache"))
    torch.manual_seed(0)
    folder = tmp_path / "tiny-distilbert"
    config = DistilBertConfig(dim=32, hidden_dim=64, n_layers=2, n_heads=2)
    DistilBertModel(config).save_pretrained(folder)
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        shutil.copy(bundled_model_path() / name, folder / name)
    kinds = ("Transformer", ""), ("Pooling", "1_Pooling")
    modules = [
        {"idx": i, "name": str(i), "path": path, "type": f"sentence_transformers.models.{kind}"}
        for i, (kind, path) in enumerate(kinds)
    ]
    (folder / "modules.json").write_text(json.dumps(modules))
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 64}))
    (folder / "1_Pooling").mkdir()
    pooling = {"word_embedding_dimension": 32, "pooling_mode_mean_tokens": True}
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    fast, slow = Embedder(str(folder)), Embedder(str(folder), runtime="torch")
    assert fast.runtime == "onnxruntime" and fast.dimension == 32
    assert np.abs(np.array(fast.embed(TEXTS)) - np.array(slow.embed(TEXTS))).max() < 1e-5
