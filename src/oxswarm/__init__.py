"""OxSwarm: a highly available identity server for Docker Swarm, after Gluu Server."""

__version__ = "0.1.0"
