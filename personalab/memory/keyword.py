"""KeywordIndex: BM25 over one scope's turns with tantivy, updated in place on every write."""

from __future__ import annotations

import math
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable
from functools import lru_cache

import tantivy

# Stop words out and English stemming in, at index and query time alike ("allergies" finds
# "allergic"). tantivy's BM25 keeps exact collection statistics across incremental commits,
# which bm25s cannot: it re-indexes everything to add one document (1.2 s at 100k turns).
ANALYZER_NAME = "personalab_en"
WRITER_HEAP_BYTES = 15_000_000  # tantivy's minimum per writer thread
# Writers stay open for the scopes written last (opening and closing one per write cost about
# 4 ms of a turn's write, bench latency at 1k); the other scopes hold no 15 MB writer arena.
OPEN_WRITERS = 4
_open: OrderedDict[int, weakref.ref[KeywordIndex]] = OrderedDict()
_open_lock = threading.Lock()


# NLTK's English stop words (as split by the tokenizer: "don't" -> "don", "t"). Lucene's
# shorter list keeps "i", "my", "what", which match nearly every turn of a conversation.
_STOP_TEXT = """
a about above after again against ain all am an and any are aren as at be because been before
being below between both but by can couldn d did didn do does doesn doing don down during each
few for from further had hadn has hasn have haven having he her here hers herself him himself
his how i if in into is isn it its itself just ll m ma me mightn more most mustn my myself
needn no nor not now o of off on once only or other our ours ourselves out over own re s same
shan she should shouldn so some such t than that the their theirs them themselves then there
these they this those through to too under until up ve very was wasn we were weren what when
where which while who whom why will with won wouldn y you your yours yourself yourselves
"""
STOP_WORDS = _STOP_TEXT.split()


def _analyzer() -> tantivy.TextAnalyzer:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.custom_stopword(STOP_WORDS))
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


_shared = _analyzer()
_shared_lock = threading.Lock()


@lru_cache(maxsize=256)  # a message is analyzed for its search and again for its best score
def terms(text: str) -> tuple[str, ...]:
    """The analyzed terms of text: stop words dropped, words stemmed, duplicates removed."""
    with _shared_lock:
        return tuple(dict.fromkeys(_shared.analyze(text)))


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("seq", stored=False, indexed=True, fast=True)
    builder.add_boolean_field("assistant", stored=False, indexed=True, fast=False)
    builder.add_text_field("body", stored=False, tokenizer_name=ANALYZER_NAME)
    return builder.build()


class KeywordIndex:
    """An in-memory BM25 index of (key, text) pairs; thread-safe; search returns (key, score)."""

    def __init__(self) -> None:
        self._schema = _schema()
        self._index = tantivy.Index(self._schema)
        self._index.register_tokenizer(ANALYZER_NAME, _analyzer())
        self._index.config_reader("Manual", 1)  # the default policy adds ~100 ms per commit
        self._lock = threading.Lock()
        self._seq_of: dict[str, int] = {}
        self._key_of: dict[int, str] = {}
        self._next = 0
        self._searcher = self._index.searcher()
        self._writer: tantivy.IndexWriter | None = None

    def __len__(self) -> int:
        return len(self._seq_of)

    def __contains__(self, key: str) -> bool:
        return key in self._seq_of

    def add(self, items: Iterable[tuple[str, str, bool]]) -> None:
        """Index (key, text, is_assistant) triples; a key already present is replaced."""
        with self._lock:
            writer = None
            for key, text, assistant in items:
                writer = writer or self._open_writer()
                if key in self._seq_of:
                    self._delete(writer, key)
                seq = self._next
                self._next += 1
                self._seq_of[key], self._key_of[seq] = seq, key
                doc = tantivy.Document()
                doc.add_unsigned("seq", seq)
                doc.add_boolean("assistant", assistant)
                doc.add_text("body", text)
                writer.add_document(doc)
            if writer is not None:
                self._commit(writer)
                del writer  # held by self alone: closing it needs no other reference to go

    def remove(self, keys: Iterable[str]) -> None:
        with self._lock:
            present = [k for k in keys if k in self._seq_of]
            if present:
                writer = self._open_writer()
                for key in present:
                    self._delete(writer, key)
                self._commit(writer)
                del writer

    def search(self, text: str, n: int, include_assistant: bool = False) -> list[tuple[str, float]]:
        """The n best (key, BM25 score) pairs for text, best first; [] when no term matches."""
        words = terms(text)
        if not words or n <= 0:
            return []
        clauses = [
            (tantivy.Occur.Should, tantivy.Query.term_query(self._schema, "body", t, "freq"))
            for t in words
        ]
        if not include_assistant:
            no_assistant = tantivy.Query.term_query(self._schema, "assistant", True)
            clauses.append((tantivy.Occur.MustNot, no_assistant))
        query = tantivy.Query.boolean_query(clauses)
        searcher = self._searcher
        hits = searcher.search(query, n, count=False).hits
        if not hits:
            return []
        seqs = searcher.fast_field_values("seq", [address for _, address in hits])
        found = []
        for (score, _), seq in zip(hits, seqs, strict=True):
            key = self._key_of.get(seq)
            if key is not None and score > 0:
                found.append((key, float(score)))
        return found

    def best_possible(self, text: str) -> float:
        """The BM25 score of an average-length turn holding every term of text once.

        Dividing by it puts a match on an absolute 0..1 scale: a turn that shares one common
        word with a long question no longer counts as a perfect match just because nothing
        matched better. A word no turn holds counts as the rarest word would (tantivy's BM25:
        idf = ln(1 + (N - df + 0.5) / (df + 0.5))).
        """
        searcher = self._searcher
        total = searcher.num_docs
        return sum(
            math.log(1 + (total - df + 0.5) / (df + 0.5))
            for df in (searcher.doc_freq("body", term) for term in terms(text))
        )

    def _delete(self, writer: tantivy.IndexWriter, key: str) -> None:
        seq = self._seq_of.pop(key)
        self._key_of.pop(seq, None)
        writer.delete_documents_by_term("seq", seq)

    def _open_writer(self) -> tantivy.IndexWriter:
        """This index's writer, kept among the last OPEN_WRITERS used (self._lock is held).
        An index dropped from the store takes its writer with it (weak references)."""
        with _open_lock:
            _open[id(self)] = weakref.ref(self)
            _open.move_to_end(id(self))
            for key in list(_open)[: max(0, len(_open) - OPEN_WRITERS)]:
                idle = _open[key]()
                # Every change is committed, so closing loses nothing; an index busy writing
                # keeps its writer (never wait on its lock: that one may wait on ours).
                if idle is None or idle._lock.acquire(blocking=False):
                    del _open[key]
                    if idle is not None:
                        idle._writer = None
                        idle._lock.release()
        if self._writer is None:
            self._writer = self._index.writer(WRITER_HEAP_BYTES, 1)
        return self._writer

    def _commit(self, writer: tantivy.IndexWriter) -> None:
        writer.commit()
        self._index.reload()
        self._searcher = self._index.searcher()
