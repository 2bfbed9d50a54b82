"""Browser-facing pages: authorize, login, consent, logout (the front channel).

* ``/oxauth/restv1/authorize`` (GET, POST): :mod:`.authorize`
* ``/oxauth/login`` (POST, the sign-in form's target): :mod:`.login`
* ``/oxauth/consent`` (POST, the consent form's target): :mod:`.consent`
* ``/oxauth/restv1/end_session`` (GET, POST): :mod:`.logout`
* ``/oxauth/branding/style.css``, ``logo``, ``pages.js`` (GET): :mod:`.brand`
* ``/passport/auth/{id}`` and ``/passport/auth/{id}/callback`` (GET): :mod:`.passport`;
  ``/passport/auth/saml/{id}/callback`` (POST), ``/passport/auth/meta/idp/{id}``:
  :mod:`.passport_saml`

:func:`routes` is collected by :func:`oxswarm.oxauth.app.create_app`; views reach shared
resources through ``request.app.state.deps`` (:class:`oxswarm.oxauth.model.OxAuthDeps`)
and their own through :func:`oxswarm.oxauth.web.deps.web_deps`.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route


def routes() -> list[BaseRoute]:
    """The front channel's routes."""
    from oxswarm.oxauth.web import passport_saml
    from oxswarm.oxauth.web.authorize import authorize
    from oxswarm.oxauth.web.brand import LOGO_PATH, SCRIPT_PATH, STYLE_PATH, logo, script, style
    from oxswarm.oxauth.web.consent import consent
    from oxswarm.oxauth.web.login import login
    from oxswarm.oxauth.web.logout import end_session
    from oxswarm.oxauth.web.passport import callback, start

    return [
        Route("/oxauth/restv1/authorize", authorize, methods=["GET", "POST"]),
        Route("/oxauth/login", login, methods=["POST"]),
        Route("/oxauth/consent", consent, methods=["POST"]),
        Route("/oxauth/restv1/end_session", end_session, methods=["GET", "POST"]),
        Route(STYLE_PATH, style, methods=["GET"]),
        Route(LOGO_PATH, logo, methods=["GET"]),
        Route(SCRIPT_PATH, script, methods=["GET"]),
        Route("/passport/auth/{provider}", start, methods=["GET"]),
        Route("/passport/auth/{provider}/callback", callback, methods=["GET"]),
        Route("/passport/auth/saml/{provider}/callback", passport_saml.callback,
              methods=["POST"]),
        Route("/passport/auth/meta/idp/{provider}", passport_saml.metadata, methods=["GET"]),
    ]
