"""`python -m newsletter` runs the CLI."""

from newsletter.cli import main

main()
