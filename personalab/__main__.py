"""Entry point for `python -m personalab`."""

import sys

from personalab.cli.main import main

sys.exit(main())
