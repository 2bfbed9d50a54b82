"""oxTrust's admin REST API under ``/identity/restv1/api/v1`` (docs/oxtrust-api.md)."""
