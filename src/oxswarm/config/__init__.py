"""Configuration: the config store adapters (etcd), secret encryption and config-init."""
