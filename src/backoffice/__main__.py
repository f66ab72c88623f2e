"""`python -m backoffice` is the `backoffice` console script."""

from backoffice.cli import main

main()
