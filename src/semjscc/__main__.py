"""``python -m semjscc`` (and ``torchrun -m semjscc``) == the ``semjscc`` console script."""

import sys

from .cli import main

sys.exit(main())
