"""The command line, `python -m personalab`: one module per command group."""
