"""Tests of model backends and packs."""
