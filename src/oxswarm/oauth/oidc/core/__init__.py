"""OpenID Connect Core 1.0: subject identifiers (section 8), the authorization request (3)."""
