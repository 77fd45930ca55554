"""Tests of personas and cards."""
