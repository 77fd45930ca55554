"""Tests of the comparison stage."""
