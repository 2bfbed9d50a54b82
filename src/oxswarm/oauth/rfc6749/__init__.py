"""RFC 6749, The OAuth 2.0 Authorization Framework: errors, client authentication, grants."""
