"""``python -m jaxreg``: the jaxreg command line (see :mod:`jaxreg.cli`)."""

from jaxreg._console import console

if __name__ == "__main__":
    console()
