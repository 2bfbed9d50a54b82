"""``python -m oxswarm`` runs the command line."""

from oxswarm.cli.main import main

main()
