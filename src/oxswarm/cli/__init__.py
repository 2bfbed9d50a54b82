"""The ``oxswarm`` command line."""
