"""``python -m fundaudit``: the same command as the ``fundaudit`` script (for environments without it on PATH)."""

import sys

from fundaudit.cli import main

sys.exit(main())
