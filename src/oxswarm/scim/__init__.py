"""SCIM 2.0 (RFC 7643 core schema, RFC 7644 protocol): filters, schemas, PATCH, errors.

Protocol code only: no web framework and no store imports. The oxTrust service
(:mod:`oxswarm.oxtrust.scim`) maps it onto the directory and serves it over HTTP.
"""
