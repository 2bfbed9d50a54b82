"""oxShibboleth's role: the SAML 2.0 identity provider (docs/saml.md)."""
