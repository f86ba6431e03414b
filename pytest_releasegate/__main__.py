"""`python -m pytest_releasegate` is `releasegate`."""

import sys

from .cli import main

sys.exit(main())
