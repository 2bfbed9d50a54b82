"""Key material: the internal CA and certificates, the OpenID Provider's JWKS, tokens.

Only vetted primitives: ``cryptography``, ``joserfc`` and the standard ``secrets`` module.
"""
