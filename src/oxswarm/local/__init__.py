"""Real daemons run as local processes: for ``oxswarm dev`` and the integration tests."""
