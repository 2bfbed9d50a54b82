"""Generators of malformed HTTP requests, shared by every fuzz test (oxAuth today; the
admin API and SAML endpoints tomorrow).

A :class:`Target` describes one route: its path, methods, where its parameters go (query,
form or JSON body) and a valid base value for each parameter. :class:`Fuzzer` draws
requests from a seeded :class:`random.Random`: the base request with one to three
mutations (a parameter given a bad value, dropped or repeated, unknown parameters,
invalid UTF-8, a wrong method or content type, an oversized or deeply nested body, a bad
``Authorization`` header, bad cookies, malformed JWTs). Every request is a plain
:class:`FuzzRequest` whose :meth:`~FuzzRequest.describe` says how to replay it.

Values sent to servers never name a host outside this machine: URLs point at loopback
ports nobody listens on (``127.0.0.1:9``), or at ``rp.example`` only where the value is a
redirect URI (compared, never fetched).
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_from_bytes

Value = str | bytes  # bytes: sent percent-encoded as they are (invalid UTF-8 included)
Pairs = list[tuple[str, Value]]

LOOPBACK_URL = "https://127.0.0.1:9/x"
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD")


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def nested_json(depth: int, opener: str = "[") -> str:
    """``[[[...]]]`` (or ``{"a":{"a":...}}``) ``depth`` levels deep."""
    if opener == "[":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


def unsigned_jwt(
    header: Mapping[str, Any] | str | bytes,
    payload: Mapping[str, Any] | str | bytes,
    signature: str = "c2ln",
) -> str:
    def seg(part: Mapping[str, Any] | str | bytes) -> str:
        if isinstance(part, bytes):
            return b64url(part)
        text = part if isinstance(part, str) else json.dumps(part)
        return b64url(text.encode("utf-8", "surrogatepass"))

    return f"{seg(header)}.{seg(payload)}.{signature}"


def bad_jwts(claims: Mapping[str, Any] | None = None) -> list[str]:
    """Malformed compact JWTs: bad base64, wrong segment counts, huge or nested parts,
    ``alg: none``, a wrong ``typ``, payloads that are not objects or not UTF-8."""
    good = dict(claims or {"iss": "x", "sub": "x", "aud": "x", "exp": 4102444800, "jti": "j"})
    rs = {"alg": "RS256", "typ": "JWT"}
    return [
        "",
        ".",
        "..",
        "....",
        "a.b",
        "a.b.c.d",
        "a.b.c.d.e",
        "!!!.???.***",
        "eyJ.eyJ.",
        "e30.e30.",
        "e30..",
        ".e30.",
        "%ff.%fe.%fd",
        unsigned_jwt({"alg": "none"}, good, ""),
        unsigned_jwt({"alg": "none", "typ": "JWT"}, good, "AAAA"),
        unsigned_jwt({"alg": "HS256", "typ": "logout+jwt"}, good),
        unsigned_jwt({"alg": "RS256", "typ": "at+jwt", "kid": "../../etc/passwd"}, good),
        unsigned_jwt({"alg": "RS256", "jku": LOOPBACK_URL, "x5u": LOOPBACK_URL}, good),
        unsigned_jwt({"alg": "RS256", "crit": ["exp"], "exp": 1}, good),
        unsigned_jwt({"alg": ["RS256"]}, good),
        unsigned_jwt({"alg": "RS256", "x": "A" * 200_000}, good),
        unsigned_jwt(rs, {**good, "x": "A" * 200_000}),
        unsigned_jwt(nested_json(100_000), good),
        unsigned_jwt(rs, nested_json(100_000)),
        unsigned_jwt(rs, nested_json(5_000, "{")),
        unsigned_jwt(rs, {**good, "exp": nested_json(3_000)}),
        unsigned_jwt(rs, "[]"),
        unsigned_jwt(rs, "1"),
        unsigned_jwt(rs, '"s"'),
        unsigned_jwt(rs, "null"),
        unsigned_jwt("[]", good),
        unsigned_jwt("null", good),
        unsigned_jwt(rs, b"\xff\xfe\xfd"),
        unsigned_jwt(b"\xc3\x28", good),
        unsigned_jwt(rs, '{"exp": NaN}'),
        unsigned_jwt(rs, '{"exp": 1e400}'),
        unsigned_jwt(rs, '{"exp": ' + "9" * 5000 + "}"),
        unsigned_jwt(rs, {**good, "exp": "tomorrow", "iat": -1, "nbf": [1]}),
        unsigned_jwt(rs, {**good, "aud": {"a": 1}, "sub": 5, "iss": None}),
        unsigned_jwt(rs, '{"sub": "\\ud800"}'),
        "eyJhbGciOiJSUzI1NiJ9." + "A" * 300_000 + ".sig",
    ]


def bad_values() -> list[Value]:
    """Values that break naive parsers: empty, huge, non-ASCII, invalid UTF-8, controls,
    numbers at their limits, JSON fragments, LDAP filter and DN metacharacters."""
    return [
        "",
        " ",
        "\t",
        "0",
        "-1",
        "1.5",
        "1e309",
        "NaN",
        "Infinity",
        "-0",
        "true",
        "null",
        "99999999999999999999999999999999",
        "9" * 5000,
        str(2**63),
        str(-(2**63)),
        "A" * 10_000,
        "A" * 200_000,
        "é",
        "日本語",
        "\u202e",
        "😀" * 100,
        "\ufeff",
        "\x00",
        "a\x00b",
        "\x01\x02\x1f\x7f",
        "\r\n",
        "a\r\nSet-Cookie: x=1",
        "\\",
        '"',
        "'",
        b"\xff",
        b"\xfe\xff",
        b"\xc3\x28",
        b"\xed\xa0\x80",
        b"\xf4\x90\x80\x80",
        b"a\x80b",
        "%",
        "%%",
        "%ff",
        "%00",
        "+",
        "&",
        "=",
        "?#",
        "../../../etc/passwd",
        "*",
        "*)(uid=*",
        "(|(objectClass=*))",
        "a,ou=people,o=gluu",
        "a=b+c=d",
        "#x",
        "\\2a",
        "x.y",
        ".",
        "..",
        "a.b.c",
        "a." * 1000,
        "ab.\x00\x01",
        "g\u00e9.s\u00e9cret",
        "\x00\x01.secret",
        "a\r\nb.secret",
        "a b.secret",
        "\x7f.x",
        "*.x",
        "A" * 600 + ".s",
        "A" * 22 + ".\x00",
        "%00.%00",
        "é" * 30 + ".s",
        "aaaaaaaaaaaaaaaaaaaaaa.\u00e9",
        "{",
        "[",
        "}",
        "]",
        "{}",
        "[]",
        '{"a":',
        nested_json(100_000),
        nested_json(20_000, "{"),
        '{"a":1,"a":2}',
        '"\\ud800"',
        "<script>alert(1)</script>",
        "${jndi:ldap://x}",
        "javascript:alert(1)",
        "https://",
        "http://[::1",
        "https://127.0.0.1:9/\u00e9",
        LOOPBACK_URL,
        "file:///etc/passwd",
        "data:,x",
        "//127.0.0.1:9",
        "https://rp.example/cb#f",
    ]


def bad_ids() -> list[Value]:
    """Identifiers and tokens (``<id>.<secret>`` refresh tokens, codes, client ids) with
    control characters, spaces, non-ASCII, LDAP metacharacters or an extreme length."""
    s = "s" * 43
    return [
        f"\x00\x01.{s}", f"a\r\nb.{s}", f"a b.{s}", f"\x7f.{s}", f"*.{s}",
        f"*)(oxTokenHash=*.{s}", f"a,ou=x.{s}", "A" * 600 + f".{s}", "A" * 22 + ".\x00",
        "A" * 22 + ".é", "%00.%00", "é" * 30 + f".{s}", "\t" * 5, "A" * 22 + "." + "s" * 5000,
        "A" * 100_000, "\x00", " ", "\u2028", b"\xff." + s.encode(), "a\x00b", "test.\x00",
        "x" * 513, "a:b", "a/b/../c", "\\", "=", "+", "a\nb",
    ]  # fmt: skip


def bad_authorizations() -> list[bytes]:
    """``Authorization`` header values (raw bytes: latin-1 and non-UTF-8 included)."""

    def basic(raw: bytes) -> bytes:
        return b"Basic " + base64.b64encode(raw)

    return [
        b"",
        b"Basic",
        b"Basic ",
        b"Basic !!!",
        b"Basic =",
        b"Basic YQ",
        b"Basic YWJj\xff",
        basic(b"no-colon"),
        basic(b":"),
        basic(b"\xff\xfe:\xfd"),
        basic(b"\xc3\xa9:\xc3\xa9"),
        basic(b"%ff:%fe"),
        basic(b"a%00:b"),
        basic(b"x" * 50_000 + b":y"),
        b"Basic " + b"A" * 100_000,
        b"basic  Og==",
        b"BASIC Og==",
        b"Bearer",
        b"Bearer ",
        b"Bearer \xc3\xa9",
        b"Bearer \xff\xfe",
        b"Bearer a b c",
        b"Bearer " + b"A" * 100_000,
        b"Bearer e30.e30.",
        b"Bearer ....",
        b"Bearer *)(x=*",
        b"Bearer x.y",
        b"Digest x",
        b"\xe9",
        b"Negotiate " + b"\x80" * 10,
    ]


def bad_cookie_values() -> list[bytes]:
    return [
        b"",
        b".",
        b"..",
        b"a.b",
        b"a." * 5000,
        b"\xc3\xa9.\xc3\xa9",
        b"\xff.\xfe",
        b"\xe9",
        b"x" * 50_000,
        b"a.\xe9\xe9\xe9",
        b'"quoted"',
        b"%ff.%fe",
        b"abc.def.ghi",
        b"\xf0\x9f\x98\x80" * 50,
    ]


@dataclass
class FuzzRequest:
    """One request to send; ``query`` and ``form`` are encoded by :func:`encode_pairs`."""

    method: str
    path: str
    query: Pairs = field(default_factory=list)
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes | None = None
    mutations: list[str] = field(default_factory=list)

    def url_tail(self) -> str:
        return self.path + ("?" + encode_pairs(self.query) if self.query else "")

    def describe(self, limit: int = 300) -> str:
        body = b"" if self.body is None else self.body
        shown_body = body[:limit] + (b"...(%d bytes)" % len(body) if len(body) > limit else b"")
        headers = {k.decode(): v[:limit] for k, v in self.headers}
        tail = self.url_tail()
        tail = tail[:limit] + (f"...({len(tail)} chars)" if len(tail) > limit else "")
        return (
            f"{self.method} {tail} mutations={self.mutations} headers={headers!r} "
            f"body={shown_body!r}"
        )


def _enc(value: Value) -> str:
    raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
    return quote_from_bytes(raw, safe="")


def encode_pairs(pairs: Sequence[tuple[str, Value]]) -> str:
    """``application/x-www-form-urlencoded`` of ``pairs``; bytes go out as they are."""
    return "&".join(f"{_enc(k)}={_enc(v)}" for k, v in pairs)


Base = Callable[[], dict[str, Value]]


@dataclass(frozen=True)
class Target:
    """One route: ``where`` its parameters go (``query``, ``form`` or ``json``);
    ``base`` the valid parameters to start from (a callable: values may change between
    requests); ``jwt_params`` those whose value is a JWT; ``json_params`` those whose value
    is JSON text; ``auth`` the valid ``Authorization`` headers to start from;
    ``cookies`` the cookie names the route reads."""

    path: str
    methods: tuple[str, ...]
    where: str
    base: Base = dict
    jwt_params: tuple[str, ...] = ()
    json_params: tuple[str, ...] = ()
    auth: tuple[bytes, ...] = ()
    cookies: Base = dict

    @property
    def name(self) -> str:
        return f"{'/'.join(self.methods)} {self.path}"


class Fuzzer:
    """Draws mutated requests for targets from a seeded random source."""

    def __init__(self, seed: int, jwts: Sequence[str] = ()) -> None:
        self.rng = random.Random(seed)
        self.values = bad_values()
        self.ids = bad_ids()
        self.jwts = [*bad_jwts(), *jwts]
        self.auths = bad_authorizations()
        self.cookie_values = bad_cookie_values()
        self.mutators: list[Callable[[Target, _Draft], None]] = [
            self._bad_value,
            self._bad_value,
            self._bad_value,
            self._drop,
            self._repeat,
            self._extra,
            self._raw_body,
            self._content_type,
            self._method,
            self._oversize,
            self._nested,
            self._authorization,
            self._cookie,
            self._jwt,
            self._jwt,
            self._params_in_query,
        ]

    def request(self, target: Target) -> FuzzRequest:
        draft = _Draft(target, self.rng.choice(target.methods), list(target.base().items()))
        if target.auth:
            draft.headers.append((b"authorization", self.rng.choice(target.auth)))
        draft.cookies = {
            k: (v if isinstance(v, bytes) else v.encode()) for k, v in target.cookies().items()
        }
        for _ in range(self.rng.choice((1, 1, 2, 3))):
            self.rng.choice(self.mutators)(target, draft)
        return draft.build()

    # -- mutators ------------------------------------------------------------------------
    def _pick(self, draft: _Draft) -> int | None:
        return self.rng.randrange(len(draft.params)) if draft.params else None

    def _bad_value(self, target: Target, draft: _Draft) -> None:
        index = self._pick(draft)
        if index is None:
            draft.params.append(("x", self.rng.choice(self.values)))
            return
        name = draft.params[index][0]
        pool = self.ids if self.rng.random() < 0.4 else self.values
        draft.params[index] = (name, self.rng.choice(pool))
        draft.note(f"value:{name}")

    def _drop(self, target: Target, draft: _Draft) -> None:
        index = self._pick(draft)
        if index is not None:
            draft.note(f"drop:{draft.params.pop(index)[0]}")

    def _repeat(self, target: Target, draft: _Draft) -> None:
        index = self._pick(draft)
        if index is not None:
            name, value = draft.params[index]
            draft.params.append((name, self.rng.choice([value, *self.values[:20]])))
            draft.note(f"repeat:{name}")

    def _extra(self, target: Target, draft: _Draft) -> None:
        count = self.rng.choice((1, 10, 2000))
        draft.params += [
            (
                self.rng.choice(("x", "é", "a[b]", "\x00", "")) + str(i),
                self.rng.choice(self.values[:40]),
            )
            for i in range(count)
        ]
        draft.note(f"extra:{count}")

    def _raw_body(self, target: Target, draft: _Draft) -> None:
        draft.raw_body = self.rng.choice(
            [
                b"\xff\xfe\xfd",
                b"a=\xff",
                b"grant_type=\xc3\x28",
                b"\x00" * 100,
                b"%",
                b"&&&==",
                b"a=%ff%fe",
                bytes(self.rng.randrange(256) for _ in range(300)),
                b'{"a":\xff}',
            ]
        )
        draft.note("raw_body")

    def _content_type(self, target: Target, draft: _Draft) -> None:
        draft.content_type = self.rng.choice(
            [
                b"",
                b"text/plain",
                b"application/json",
                b"application/x-www-form-urlencoded",
                b"multipart/form-data",
                b"multipart/form-data; boundary=xyz",
                b"application/x-www-form-urlencoded; charset=latin-1",
                b"application/jwt",
                b"\xe9/\xe9",
                b"application/json; charset=utf-16",
            ]
        )
        draft.note(f"content_type:{draft.content_type!r}")

    def _method(self, target: Target, draft: _Draft) -> None:
        draft.method = self.rng.choice(METHODS)
        draft.note(f"method:{draft.method}")

    def _oversize(self, target: Target, draft: _Draft) -> None:
        if self.rng.random() < 0.5:
            draft.raw_body = b"a=" + b"A" * self.rng.choice((70_000, 1_100_000, 3_000_000))
        else:
            name = draft.params[0][0] if draft.params else "x"
            draft.params.append((name + "_", "B" * 600_000))
        draft.note("oversize")

    def _nested(self, target: Target, draft: _Draft) -> None:
        text = nested_json(self.rng.choice((100, 1_000, 100_000)), self.rng.choice("[{"))
        names = [*target.json_params, *(p for p, _ in draft.params)]
        if target.where == "json" or not names or self.rng.random() < 0.3:
            draft.raw_body = text.encode()
        else:
            name = self.rng.choice(names)
            draft.params = [p for p in draft.params if p[0] != name] + [(name, text)]
        draft.note("nested")

    def _authorization(self, target: Target, draft: _Draft) -> None:
        draft.headers = [h for h in draft.headers if h[0] != b"authorization"]
        draft.headers.append((b"authorization", self.rng.choice(self.auths)))
        draft.note("authorization")

    def _cookie(self, target: Target, draft: _Draft) -> None:
        names = [*draft.cookies, "oxauth_session", "oxauth_browser"]
        name = self.rng.choice(names)
        draft.cookies[name] = self.rng.choice(self.cookie_values)
        if self.rng.random() < 0.2:
            draft.raw_cookie = self.rng.choice(
                [b"=;;=", b"\xe9=\xe9", b"oxauth_session", b"a=" + b"b" * 20_000, b";" * 500]
            )
        draft.note(f"cookie:{name}")

    def _jwt(self, target: Target, draft: _Draft) -> None:
        names = [*target.jwt_params] or ["request", "id_token_hint", "client_assertion"]
        name = self.rng.choice(names)
        draft.params = [p for p in draft.params if p[0] != name] + [
            (name, self.rng.choice(self.jwts))
        ]
        draft.note(f"jwt:{name}")

    def _params_in_query(self, target: Target, draft: _Draft) -> None:
        draft.force_query = True
        draft.note("params_in_query")


@dataclass
class _Draft:
    target: Target
    method: str
    params: Pairs
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    cookies: dict[str, bytes] = field(default_factory=dict)
    raw_cookie: bytes | None = None
    raw_body: bytes | None = None
    content_type: bytes | None = None
    force_query: bool = False
    mutations: list[str] = field(default_factory=list)

    def note(self, what: str) -> None:
        self.mutations.append(what)

    def build(self) -> FuzzRequest:
        out = FuzzRequest(self.method, self.target.path, mutations=self.mutations)
        where = self.target.where
        body: bytes | None = None
        ctype = b""
        if self.force_query or where == "query" or (where == "form" and self.method == "GET"):
            out.query = self.params
        elif where == "form":
            body, ctype = encode_pairs(self.params).encode(), b"application/x-www-form-urlencoded"
        elif where == "json":
            body, ctype = _json_body(self.params), b"application/json"
        if self.raw_body is not None:
            body = self.raw_body
        if self.content_type is not None:
            ctype = self.content_type
        if body is not None and self.method not in ("GET", "HEAD"):
            out.body = body
        if ctype and out.body is not None:
            out.headers.append((b"content-type", ctype))
        out.headers += self.headers
        if self.raw_cookie is not None:
            out.headers.append((b"cookie", self.raw_cookie))
        elif self.cookies:
            out.headers.append(
                (b"cookie", b"; ".join(k.encode() + b"=" + v for k, v in self.cookies.items()))
            )
        return out


def _json_body(pairs: Pairs) -> bytes:
    """A JSON object of ``pairs``; values that look like JSON go in parsed (lists for
    ``*_uris``/``*_types``), bytes as they are (the body is then not valid UTF-8)."""
    parts: list[bytes] = []
    for name, value in pairs:
        if isinstance(value, bytes):
            encoded = b'"' + value + b'"'
        else:
            try:
                json.loads(value)
                encoded = (
                    value.encode("utf-8", "surrogatepass")
                    if value[:1] in "[{"
                    else json.dumps(value).encode()
                )
            except (ValueError, RecursionError):
                encoded = json.dumps(value).encode("utf-8", "surrogatepass")
        parts.append(json.dumps(name).encode() + b":" + encoded)
    return b"{" + b",".join(parts) + b"}"
