"""`python -m instrumentkit` runs the command-line interface."""

from instrumentkit.cli import main

main()
