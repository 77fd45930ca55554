"""Tests of the app's pages (AppTest)."""
