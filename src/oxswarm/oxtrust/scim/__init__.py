"""SCIM 2.0 served by oxTrust under ``/identity/restv1/scim/v2/`` (docs/scim.md)."""
