"""``python -m connectparticipant_ext``: the same as the ``connectparticipant-ext`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
