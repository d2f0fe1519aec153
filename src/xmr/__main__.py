"""``python -m xmr`` runs the ``xmr`` command."""

import sys

from .cli.main import main

sys.exit(main())
