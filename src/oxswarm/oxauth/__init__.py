"""oxAuth: the OpenID Provider service (Starlette app, endpoint views, store adapters).

The protocol logic lives in :mod:`oxswarm.oauth`; this package binds it to HTTP and to the
shared stores. Layout: ``app.py`` (factory), ``endpoints/`` (one module per back-channel
endpoint), ``web/`` (authorize, login, consent, logout: the browser-facing pages),
``adapters/`` (directory, cache and config-store implementations of the interfaces).
"""
