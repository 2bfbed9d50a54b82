"""The IdP's trust files in the node's shared folder, which csync2 keeps identical on every
node (Gluu kept Shibboleth's ``metadata/`` and ``conf/`` there the same way).

The directory (``ou=trustRelationships``) stays the source of truth; the files are what
the IdP serves from. One trust, two files under ``<shared>/idp/trusts/``:

* ``<inum>.xml``: the SP's metadata, byte for byte as stored;
* ``<inum>.json``: the relying-party settings and attribute release (name, entityID,
  released attributes, NameID format, signing, encryption, enabled) and the SHA-256 of
  the XML: a JSON whose XML is missing or differs (half copied) is not served.

Every IdP process reconciles the files from the directory at its start and every
:data:`RECONCILE` seconds (a node that was down catches up on return, and its csync2
gets the others' files too), writing only what differs (``.tmp`` then rename: csync2
skips ``*.tmp``), XML first; removing the files of a trust gone. An SP the files do not
know is looked up in the directory at once (and its files written): a new trust never
waits for the next pass.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Final

from oxswarm.oxshibboleth.trust import NAMEID_CHOICES, Trust

log = logging.getLogger(__name__)
RECONCILE: Final = 5.0
_SETTINGS: Final = ("name", "entity_id", "release", "nameid_format", "sign_assertions",
                    "encrypt_assertions", "enabled")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def settings_json(trust: Trust) -> str:
    """The ``<inum>.json`` text of ``trust`` (stable: the same trust, the same bytes)."""
    doc: dict[str, Any] = {"inum": trust.inum}
    doc |= {k: getattr(trust, k) for k in _SETTINGS}
    doc["release"] = list(trust.release)
    doc["metadata_sha256"] = _sha256(trust.metadata)
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def trust_from_files(settings: str, metadata: str) -> Trust:
    """The trust of a pair of files; ``ValueError`` when they do not belong together."""
    doc = json.loads(settings)
    if not isinstance(doc, dict) or doc.get("metadata_sha256") != _sha256(metadata):
        raise ValueError("the metadata file is not the one the settings name")
    if doc.get("nameid_format") not in NAMEID_CHOICES:
        raise ValueError(f"nameid_format {doc.get('nameid_format')!r} is not known")
    return Trust(
        inum=str(doc["inum"]), name=str(doc["name"]), entity_id=str(doc["entity_id"]),
        metadata=metadata, release=tuple(str(a) for a in doc["release"]),
        nameid_format=doc["nameid_format"], sign_assertions=bool(doc["sign_assertions"]),
        encrypt_assertions=bool(doc["encrypt_assertions"]), enabled=bool(doc["enabled"]),
    )


def _write(path: Path, text: str) -> bool:
    """``text`` at ``path`` unless already there; True when written."""
    try:
        if path.read_text() == text:
            return False
    except OSError:
        pass
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return True


class TrustFiles:
    """The trusts folder of one node (``<shared>/idp/trusts``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _paths(self, inum: str) -> tuple[Path, Path]:
        if not inum or "/" in inum or inum.startswith("."):
            raise ValueError(f"inum {inum!r} cannot name a file")
        return self.folder / f"{inum}.xml", self.folder / f"{inum}.json"

    def write(self, trust: Trust) -> bool:
        """The trust's files, XML first; True when one changed."""
        self.folder.mkdir(parents=True, exist_ok=True)
        xml, settings = self._paths(trust.inum)
        wrote = _write(xml, trust.metadata)
        return _write(settings, settings_json(trust)) or wrote

    def remove(self, inum: str) -> bool:
        removed = False
        for path in self._paths(inum):
            try:
                path.unlink()
                removed = True
            except FileNotFoundError:
                pass
        return removed

    def inums(self) -> set[str]:
        try:
            names = os.listdir(self.folder)
        except FileNotFoundError:
            return set()
        return {n.rsplit(".", 1)[0] for n in names
                if n.endswith((".json", ".xml")) and not n.startswith(".")}

    def load(self) -> list[Trust]:
        """Every trust whose two files agree; a broken pair is logged and left out."""
        trusts: list[Trust] = []
        for inum in sorted(self.inums()):
            xml, settings = self._paths(inum)
            try:
                trusts.append(trust_from_files(settings.read_text(), xml.read_text()))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.info("trust files of %s not served: %s", inum, exc)
        return trusts

    def reconcile(self, trusts: Iterable[Trust]) -> list[str]:
        """Make the folder hold exactly ``trusts`` (the directory's); what changed."""
        changes: list[str] = []
        wanted = {t.inum: t for t in trusts}
        for inum, trust in wanted.items():
            if self.write(trust):
                changes.append(f"wrote {inum}")
        for inum in sorted(self.inums() - set(wanted)):
            if self.remove(inum):
                changes.append(f"removed {inum}")
        return changes


class TrustSource:
    """What the IdP serves: the files, kept from the directory (``directory`` lists the
    trusts, ``by_entity_id`` finds one)."""

    def __init__(self, files: TrustFiles, directory: Callable[[], list[Trust]],
                 by_entity_id: Callable[[str], Trust | None]) -> None:
        self.files = files
        self._directory = directory
        self._by_entity_id = by_entity_id

    def load(self) -> list[Trust]:
        return self.files.load()

    def reconcile(self) -> list[str]:
        changes = self.files.reconcile(self._directory())
        if changes:
            log.info("trust files reconciled from the directory: %s", ", ".join(changes))
        return changes

    def fetch(self, entity_id: str) -> bool:
        """An SP the files do not know, from the directory (its files written); True when
        the directory has it."""
        trust = self._by_entity_id(entity_id)
        if trust is None:
            return False
        self.files.write(trust)
        return True
