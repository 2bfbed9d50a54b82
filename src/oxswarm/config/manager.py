"""The cluster's configuration and secrets, read and written through a :class:`KVStore`.

Layout in the store (names from :mod:`oxswarm.config.keys`)::

    <prefix>/config/<name>   plain UTF-8 text
    <prefix>/secret/<name>   a SecretBox token (AES-256-GCM, see oxswarm.config.secrets)

Secrets never reach the store in clear. A dump folder holds ``config.json`` (a flat
``{name: value}`` object) and ``secret.json`` (flat ``{name: token}``, or ``{name:
value}`` with ``plaintext=True``; mode 0600), the shapes Gluu's config-init wrote.
Loading a dump decrypts tokens with the master key and accepts plain values too.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from oxswarm.config.keys import HOSTNAME
from oxswarm.config.secrets import SecretBox
from oxswarm.config.store import KVStore
from oxswarm.errors import InvalidInput, MasterKeyError, NotFound

MASK = "**********"
CONFIG_FILE = "config.json"
SECRET_FILE = "secret.json"
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


def check_name(name: str, field: str = "key") -> str:
    """A value's name: letters, digits, ``_``, ``.``, ``-``; never a path."""
    if not _NAME.match(name):
        raise InvalidInput(
            f"{field}: {name!r} is not a valid name (letters, digits, '_', '.', '-')",
            field=field,
        )
    return name


@dataclass(frozen=True)
class LoadResult:
    """Names written to the store, and names left as they were (already present)."""

    stored: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


class ConfigManager:
    """Configuration values and encrypted secrets of one cluster (keys under ``prefix``)."""

    def __init__(self, store: KVStore, prefix: str, box: SecretBox | None = None) -> None:
        self.store = store
        self.prefix = prefix.rstrip("/")
        self.box = box

    def __repr__(self) -> str:
        return f"ConfigManager(prefix={self.prefix!r})"

    def config_key(self, name: str) -> str:
        return f"{self.prefix}/config/{check_name(name)}"

    def secret_key(self, name: str) -> str:
        return f"{self.prefix}/secret/{check_name(name)}"

    def _box(self) -> SecretBox:
        if self.box is None:
            raise MasterKeyError(
                "no master key: give --master-key-file or set OXSWARM_MASTER_KEY_FILE"
            )
        return self.box

    # -- configuration -----------------------------------------------------------------

    def get(self, name: str) -> str | None:
        raw = self.store.get(self.config_key(name))
        return None if raw is None else raw.decode()

    def set(self, name: str, value: str) -> None:
        self.store.put(self.config_key(name), value.encode())

    def get_versioned(self, name: str) -> tuple[str | None, int]:
        """The value and the store revision of its last change (0 when absent)."""
        raw, revision = self.store.get_revision(self.config_key(name))
        return (None if raw is None else raw.decode()), revision

    def set_if_unchanged(
        self, name: str, value: str, revision: int,
        secrets: Mapping[str, str | None] | None = None,
    ) -> bool:  # fmt: skip
        """Store ``value`` only while ``name`` is still at ``revision``, with the
        ``secrets`` (encrypted; None removes one) in the same transaction: all or nothing.
        False when another writer changed ``name`` first."""
        also = {self.secret_key(k): None if v is None else self._box().encrypt(k, v).encode()
                for k, v in (secrets or {}).items()}
        return self.store.put_if_revision(self.config_key(name), value.encode(), revision,
                                          also)

    def all(self) -> dict[str, str]:
        base = f"{self.prefix}/config/"
        found = self.store.get_prefix(base)
        return {k[len(base) :]: v.decode() for k, v in sorted(found.items())}

    # -- secrets -----------------------------------------------------------------------

    def get_secret(self, name: str) -> str | None:
        """The decrypted secret, or None when absent; SecretError when it does not open."""
        raw = self.store.get(self.secret_key(name))
        return None if raw is None else self._box().decrypt(name, raw.decode())

    def set_secret(self, name: str, value: str) -> None:
        token = self._box().encrypt(name, value)
        self.store.put(self.secret_key(name), token.encode())

    def secret_tokens(self) -> dict[str, str]:
        """Every secret as stored: encrypted tokens, no master key needed."""
        base = f"{self.prefix}/secret/"
        found = self.store.get_prefix(base)
        return {k[len(base) :]: v.decode() for k, v in sorted(found.items())}

    def all_secrets(self) -> dict[str, str]:
        box = self._box()
        return {name: box.decrypt(name, token) for name, token in self.secret_tokens().items()}

    # -- whole configuration -------------------------------------------------------------

    def is_initialised(self) -> bool:
        """True when the store already holds a configuration for this cluster."""
        return bool(self.store.get_prefix(f"{self.prefix}/config/"))

    def masked(self) -> dict[str, dict[str, str]]:
        """Configuration in clear and secret names with masked values, for ``show``."""
        return {
            "config": self.all(),
            "secret": {name: MASK for name in self.secret_tokens()},
        }

    def get_any(self, name: str) -> tuple[str, bool]:
        """A value by name, from the configuration or else the secrets: (value, is_secret)."""
        value = self.get(name)
        if value is not None:
            return value, False
        raw = self.store.get(self.secret_key(name))
        if raw is None:
            raise NotFound(f"no configuration value or secret named {name!r} in {self.prefix}")
        return self._box().decrypt(name, raw.decode()), True

    def load(
        self, config: Mapping[str, str], secrets: Mapping[str, str], overwrite: bool = False
    ) -> LoadResult:
        """Store ``config`` and (plaintext) ``secrets``; existing keys are kept unless
        ``overwrite``. Each key is written with put-if-absent, so two loaders racing
        cannot replace each other's values.
        """
        clash = sorted(set(config) & set(secrets))
        if clash:
            raise InvalidInput(f"{clash[0]}: named both as config and as secret", field=clash[0])
        for name in (*config, *secrets):
            check_name(name)
        box = self._box() if secrets else None
        stored: list[str] = []
        kept: list[str] = []
        items: list[tuple[str, str, bytes]] = [
            (name, self.config_key(name), value.encode()) for name, value in config.items()
        ]
        if box is not None:
            items += [
                (name, self.secret_key(name), box.encrypt(name, value).encode())
                for name, value in secrets.items()
            ]
        for name, key, raw in items:
            if overwrite:
                self.store.put(key, raw)
                stored.append(name)
            elif self.store.put_if_absent(key, raw):
                stored.append(name)
            else:
                kept.append(name)
        return LoadResult(stored=stored, kept=kept)

    def initialise(
        self, config: Mapping[str, str], secrets: Mapping[str, str], overwrite: bool = False
    ) -> LoadResult | None:
        """Store a whole new configuration (config-init's ``generate``).

        Without ``overwrite`` nothing is written when the store already holds a
        configuration (None is returned): the first writer claims the cluster by writing
        its ``hostname`` (or first) value with put-if-absent, so two racing generators
        cannot mix their values (a certificate from one, its key from the other).
        """
        if not config:
            raise InvalidInput("config: a configuration needs at least one value", field="config")
        if overwrite:
            return self.load(config, secrets, overwrite=True)
        if self.is_initialised():
            return None
        claim = HOSTNAME if HOSTNAME in config else min(config)
        if not self.store.put_if_absent(self.config_key(claim), config[claim].encode()):
            return None
        result = self.load({k: v for k, v in config.items() if k != claim}, secrets)
        return LoadResult(stored=[claim, *result.stored], kept=result.kept)

    # -- dump folders --------------------------------------------------------------------

    def dump(self, folder: Path, plaintext: bool = False) -> tuple[Path, Path]:
        """Write ``config.json`` and ``secret.json`` (0600) into ``folder``."""
        config = self.all()
        if plaintext:
            secrets = self.all_secrets()
        else:
            secrets = self.secret_tokens()
            if self.box is not None:  # prove the dump opens again with this key
                for name, token in secrets.items():
                    self.box.decrypt(name, token)
        folder.mkdir(parents=True, exist_ok=True)
        config_path = folder / CONFIG_FILE
        secret_path = folder / SECRET_FILE
        _write_json(config_path, config, 0o644)
        _write_json(secret_path, secrets, 0o600)
        return config_path, secret_path

    def read_dump(self, folder: Path) -> tuple[dict[str, str], dict[str, str]]:
        """Read a dump folder: (config, plaintext secrets); tokens are decrypted here."""
        config = _read_json(folder / CONFIG_FILE)
        secrets = _read_json(folder / SECRET_FILE) if (folder / SECRET_FILE).exists() else {}
        if secrets:
            box = self._box()
            secrets = {
                name: box.decrypt(name, value) if SecretBox.is_token(value) else value
                for name, value in secrets.items()
            }
        return config, secrets

    def load_dump(self, folder: Path, overwrite: bool = False) -> LoadResult:
        config, secrets = self.read_dump(folder)
        return self.load(config, secrets, overwrite)


def _write_json(path: Path, data: Mapping[str, str], mode: int) -> None:
    """Write atomically (temporary file, then rename) with ``mode`` from the start."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w") as out:
        json.dump(dict(data), out, indent=2, sort_keys=True)
        out.write("\n")
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _read_json(path: Path) -> dict[str, str]:
    field_name = path.name
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise InvalidInput(f"{field_name}: {path} does not exist", field=field_name) from exc
    except (OSError, ValueError) as exc:
        raise InvalidInput(
            f"{field_name}: {path} is not valid JSON: {exc}", field=field_name
        ) from exc
    if not isinstance(data, dict):
        raise InvalidInput(f"{field_name}: {path} must hold a JSON object", field=field_name)
    bad = [k for k, v in data.items() if not isinstance(v, str)]
    if bad:
        raise InvalidInput(f"{bad[0]}: value in {path} must be a string", field=bad[0])
    return data
