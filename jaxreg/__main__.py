"""``python -m jaxreg``: the jaxreg command line (see :mod:`jaxreg.cli`)."""

from jaxreg.cli import console

if __name__ == "__main__":
    console()
