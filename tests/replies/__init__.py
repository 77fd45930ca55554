"""Tests of checks, guard, judge."""
