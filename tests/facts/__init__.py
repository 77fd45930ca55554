"""Tests of the fact layer."""
