"""Entry point for `python -m personalab`."""

import sys

from personalab.cli import main

sys.exit(main())
