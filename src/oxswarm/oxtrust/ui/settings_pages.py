"""Keys (list, rotate), Authentication (the live policy) and Configuration.

* Keys rotate exactly as ``oxswarm keys rotate`` (:func:`oxswarm.oxauth.rotation.rotate_stored`).
* The policy form writes to the config store only what
  :func:`oxswarm.oxauth.policy.read_policy` accepts: the proposed values are read
  together with the stored ones first; a refusal names its key beside its field and
  nothing is written. Every oxAuth process follows the store by watch.
* Configuration: organisation settings; SMTP (:mod:`oxswarm.config.smtp`, the password a
  secret, never shown); the store's values with every secret masked
  (``ConfigManager.masked``).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from oxswarm.config import keys as K
from oxswarm.config import smtp
from oxswarm.errors import InvalidInput, NotFound
from oxswarm.oauth.oidc.core import acr
from oxswarm.oxauth.branding import LOGO
from oxswarm.oxauth.policy import FETCH_HTTP, REGISTRATION_MODES, read_policy
from oxswarm.oxauth.rotation import current_signers, rotate_stored, stamp
from oxswarm.oxtrust.ui.deps import UiDeps
from oxswarm.oxtrust.ui.render import Ctx, admin

#: the policy form: store key -> label (values are text; read_policy decides)
POLICY_FIELDS: Final = (
    (K.OXAUTH_LOCKOUT_USER_FAILURES, "Failed sign-ins per user before lockout"),
    (K.OXAUTH_LOCKOUT_ADDRESS_FAILURES, "Failed sign-ins per address before slowing down"),
    (K.OXAUTH_LOCKOUT_WINDOW, "Lockout window (seconds)"),
    (K.OXAUTH_LOCKOUT_ADDRESS_DELAY_MS, "Longest delay per address (ms)"),
    (K.OXAUTH_REGISTRATION_RATE_LIMIT, "Registrations per address per window"),
    (K.OXAUTH_REGISTRATION_RATE_WINDOW, "Registration window (seconds)"),
    (K.OXAUTH_TRUSTED_PROXIES, "Trusted proxies (CIDRs, comma-separated)"),
    (K.OXAUTH_FETCH_ALLOW, "Private networks server-side fetches may reach (CIDRs)"),
    (FETCH_HTTP, "Networks fetched over plain http (CIDRs; still need the line above "
                 "when private)"),
    (K.OXAUTH_SESSION_LIFETIME, "Session lifetime (seconds, 10 to 2678400)"),
)
CIDR_FIELDS: Final = (K.OXAUTH_TRUSTED_PROXIES, K.OXAUTH_FETCH_ALLOW, FETCH_HTTP)
#: the policy's choices (a <select> each): store key -> (label, allowed values)
POLICY_CHOICES: Final = (
    (K.OXAUTH_REGISTRATION, "Client registration", REGISTRATION_MODES),
    (K.OXAUTH_DEFAULT_ACR, "Default authentication method (acr)", acr.SUPPORTED),
)
SMTP_FIELDS: Final = (
    (smtp.HOST, "SMTP host"), (smtp.PORT, "SMTP port (empty: 587, 465 or 25 by TLS mode)"),
    (smtp.FROM, "From address"), (smtp.USER, "SMTP user name"),
)
ORG_FIELDS: Final = (
    (K.ORG_NAME, "Organisation name"), (K.COUNTRY_CODE, "Country code"),
    (K.STATE, "State"), (K.CITY, "City"), (K.ADMIN_EMAIL, "Administrator email"),
)


def _keys(deps: UiDeps) -> list[dict[str, Any]]:
    text = deps.manager.get(K.OXAUTH_JWKS_PUBLIC) or '{"keys": []}'
    jwks = json.loads(text)
    signers = set(current_signers(jwks, time.time()).values())
    return [
        {"kid": k.get("kid"), "alg": k.get("alg"), "use": k.get("use", "sig"),
         "nbf": stamp(float(k.get("nbf", 0))), "exp": stamp(float(k.get("exp", 0))),
         "signing": k.get("kid") in signers}
        for k in jwks.get("keys", [])
    ]


def settings_routes(deps: UiDeps) -> list[Route]:
    return [*_key_routes(deps), *_policy_routes(deps), *_config_routes(deps)]


def _key_routes(deps: UiDeps) -> list[Route]:
    guard = admin(deps)

    @guard
    async def keys(request: Request, ctx: Ctx) -> Response:
        found = await asyncio.to_thread(_keys, deps)
        return ctx.page("keys.html", title="Signing keys", section="keys", keys=found,
                        errors={}, rotated=request.query_params.get("rotated"))

    @guard
    async def rotate(_request: Request, ctx: Ctx) -> Response:
        errors: dict[str, str] = {}
        values: dict[str, int] = {}
        for name, default, top in (("propagation", 300, 86400),
                                   ("max_token_lifetime", 3600, 86400 * 30)):
            raw = ctx.form.get(name, str(default)).strip()
            if not raw.isdigit() or not (0 if name == "propagation" else 1) <= int(raw) <= top:
                errors[name] = f"{name}: a whole number of seconds up to {top}"
            else:
                values[name] = int(raw)
        if errors:
            found = await asyncio.to_thread(_keys, deps)
            return ctx.page("keys.html", 400, title="Signing keys", section="keys",
                            keys=found, errors=errors)
        try:
            await asyncio.to_thread(rotate_stored, deps.manager, **values)
        except NotFound as exc:
            return ctx.page("error.html", 409, title="No keys", message=str(exc))
        await ctx.audit("keys.rotate", "oxauth_jwks", values)
        return RedirectResponse("/identity/keys?rotated=1", status_code=303)

    return [
        Route("/identity/keys", keys, methods=["GET"]),
        Route("/identity/keys/rotate", rotate, methods=["POST"]),
    ]


def _only(values: dict[str, str], name: str) -> Callable[[str], str | None]:
    """A store reader that knows only ``name`` (so a refusal is that field's)."""
    return lambda key: values[name] if key == name else None


def _policy_routes(deps: UiDeps) -> list[Route]:
    guard = admin(deps)

    def policy_page(ctx: Ctx, status: int, values: dict[str, str], errors: dict[str, str],
                    saved: str | None = None) -> Response:
        return ctx.page("policy.html", status, title="Authentication", section="policy",
                        fields=POLICY_FIELDS, choices=POLICY_CHOICES, values=values,
                        errors=errors, saved=saved)

    names = [*(k for k, _l, _c in POLICY_CHOICES), *(k for k, _ in POLICY_FIELDS)]

    def stored_policy() -> dict[str, str]:
        values = {k: deps.manager.get(k) or "" for k in names}
        for key in CIDR_FIELDS:  # a JSON list (as config-init writes them): one line
            if values[key].startswith("["):
                values[key] = ", ".join(json.loads(values[key]))
        return values

    @guard
    async def policy(request: Request, ctx: Ctx) -> Response:
        current = await asyncio.to_thread(stored_policy)
        if request.method == "GET":
            return policy_page(ctx, 200, current, {}, request.query_params.get("saved"))
        proposed = {k: ctx.form.get(k, "").strip() for k in names}
        errors: dict[str, str] = {}
        for name in names:  # each value on its own, so every bad field is named
            try:
                read_policy(_only(proposed, name))
            except InvalidInput as exc:
                errors[exc.field or name] = str(exc)
        if not errors:
            try:
                read_policy(lambda key: proposed.get(key, current.get(key)) or None)
            except InvalidInput as exc:
                errors[exc.field or "form"] = str(exc)
        if errors:
            return policy_page(ctx, 400, proposed, errors)
        changed = {k: v for k, v in proposed.items() if v != current.get(k)}
        await asyncio.to_thread(_set_all, deps, changed)
        await ctx.audit("policy.update", "oxauth", changed)
        return RedirectResponse("/identity/policy?saved=1", status_code=303)

    return [Route("/identity/policy", policy, methods=["GET", "POST"])]


def _set_all(deps: UiDeps, changed: dict[str, str]) -> None:
    for key, value in changed.items():
        deps.manager.set(key, value)


def _masked(deps: UiDeps) -> str:
    """The live configuration with every secret masked; the logo (up to 136 kB of base64)
    is shown by its length."""
    masked = deps.manager.masked()
    if logo := masked["config"].get(LOGO):
        masked["config"][LOGO] = f"({len(logo)} characters of base64: Branding shows it)"
    return json.dumps(masked, indent=2, sort_keys=True)


def _smtp_stored(deps: UiDeps) -> dict[str, str]:
    values = {k: deps.manager.get(k) or "" for k in smtp.CONFIG_NAMES}
    values["password_set"] = "yes" if deps.manager.get_secret(smtp.PASSWORD) else ""
    return values


def _config_routes(deps: UiDeps) -> list[Route]:
    guard = admin(deps)

    async def config_page(ctx: Ctx, status: int = 200, *, org: dict[str, str] | None = None,
                          mail: dict[str, str] | None = None, errors: dict[str, str] | None
                          = None, saved: str | None = None) -> Response:
        masked = await asyncio.to_thread(_masked, deps)
        stored_mail = await asyncio.to_thread(_smtp_stored, deps)
        if org is None:
            org = {k: deps.manager.get(k) or "" for k, _ in ORG_FIELDS}
        return ctx.page("config.html", status, title="Configuration", section="config",
                        masked=masked, org=org, fields=ORG_FIELDS, errors=errors or {},
                        smtp={**stored_mail, **(mail or {})}, smtp_fields=SMTP_FIELDS,
                        tls_modes=smtp.TLS_MODES, saved=saved)

    @guard
    async def config(request: Request, ctx: Ctx) -> Response:
        if request.method == "GET":
            return await config_page(ctx, saved=request.query_params.get("saved"))
        org = {k: deps.manager.get(k) or "" for k, _ in ORG_FIELDS}
        errors: dict[str, str] = {}
        proposed = {k: ctx.form.get(k, "").strip() for k, _ in ORG_FIELDS}
        if not proposed[K.ORG_NAME]:
            errors[K.ORG_NAME] = f"{K.ORG_NAME}: required"
        code = proposed[K.COUNTRY_CODE]
        if not (len(code) == 2 and code.isalpha()):
            errors[K.COUNTRY_CODE] = f"{K.COUNTRY_CODE}: two letters (ISO 3166-1)"
        if proposed[K.ADMIN_EMAIL] and "@" not in proposed[K.ADMIN_EMAIL]:
            errors[K.ADMIN_EMAIL] = f"{K.ADMIN_EMAIL}: not an email address"
        if errors:
            return await config_page(ctx, 400, org=proposed, errors=errors)
        changed = {k: v for k, v in proposed.items() if v != org.get(k)}
        await asyncio.to_thread(_set_all, deps, changed)
        await ctx.audit("config.organisation", "config", changed)
        return RedirectResponse("/identity/config?saved=1", status_code=303)

    @guard
    async def smtp_settings(_request: Request, ctx: Ctx) -> Response:
        """SMTP: the password is written only when typed (empty keeps the stored one,
        ``smtp_password_clear`` removes it), encrypted as every secret."""
        values, errors = smtp.check(ctx.form)
        if errors:  # shown as typed (not with the defaults filled in)
            typed = {k: ctx.form.get(k, "") for k in smtp.CONFIG_NAMES}
            return await config_page(ctx, 400, mail=typed, errors=errors)
        stored = await asyncio.to_thread(_smtp_stored, deps)
        changed: dict[str, Any] = {k: v for k, v in values.items() if v != stored.get(k)}
        password = ctx.form.get(smtp.PASSWORD, "")
        clear = "smtp_password_clear" in ctx.form
        await asyncio.to_thread(_set_smtp, deps, changed, password, clear)
        if password or clear:
            changed[smtp.PASSWORD] = "cleared" if clear and not password else "changed"
        await ctx.audit("config.smtp", "config", changed)
        return RedirectResponse("/identity/config?saved=smtp", status_code=303)

    return [Route("/identity/config", config, methods=["GET", "POST"]),
            Route("/identity/config/smtp", smtp_settings, methods=["POST"])]


def _set_smtp(deps: UiDeps, changed: dict[str, str], password: str, clear: bool) -> None:
    _set_all(deps, changed)
    if password:
        deps.manager.set_secret(smtp.PASSWORD, password)
    elif clear:
        deps.manager.store.delete(deps.manager.secret_key(smtp.PASSWORD))
