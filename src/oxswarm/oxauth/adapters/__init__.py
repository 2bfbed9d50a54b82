"""Bindings of the protocol interfaces to OxSwarm's stores (directory, cache, config)."""
