"""Measurements: memory overhead, model speed and app start (`python -m personalab bench`)."""
