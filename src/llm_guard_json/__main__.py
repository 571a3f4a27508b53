"""`python -m llm_guard_json` runs the command line."""

import sys

from ._cli import main

sys.exit(main())
