"""oxTrust: the administration service (``/identity``); for now its SCIM 2.0 API."""
