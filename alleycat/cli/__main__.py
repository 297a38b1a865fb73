"""``python -m alleycat.cli``: the same as the ``alleycat`` command (the local stack starts its workers so)."""

import sys

from alleycat.cli import main

sys.exit(main())
