"""``python -m jaxreg``: the jaxreg command line (see :mod:`jaxreg.cli`)."""

import sys

from jaxreg.cli import main

if __name__ == "__main__":
    sys.exit(main())
