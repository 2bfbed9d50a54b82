"""OpenID Connect: Core 1.0 (ID tokens, claims, pairwise subjects), Discovery 1.0."""
