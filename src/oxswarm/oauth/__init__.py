"""OAuth 2.0 and OpenID Connect protocol code, one module or package per specification.

Nothing here imports a web framework or a store: storage is reached through the small
interfaces of :mod:`oxswarm.oauth.interfaces`, supplied by the service (:mod:`oxswarm.oxauth`).
"""
