"""Tests of recall and embeddings."""
