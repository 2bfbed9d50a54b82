"""The IdP's trust files (the node's shared folder, docs/saml.md): written from the
directory's trusts, read back the same, reconciled (added, changed, removed), a broken
pair never served, and an SP the files miss fetched into them at once by the engine."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.oxshibboleth.sp import ServiceProvider

from oxswarm.crypto import pki
from oxswarm.oxshibboleth.engine import Engine
from oxswarm.oxshibboleth.idp import IdpKeys, KeyFiles, idp_config, metadata_xml
from oxswarm.oxshibboleth.trust import Trust
from oxswarm.oxshibboleth.trustfiles import TrustFiles, TrustSource, settings_json

BASE = "https://idp.example.org"


@pytest.fixture(scope="module")
def keys() -> Iterator[KeyFiles]:
    signing, encryption = pki.self_signed_cert("idp"), pki.self_signed_cert("idp")
    made = KeyFiles(IdpKeys(signing.cert_pem, signing.key_pem, encryption.cert_pem,
                            encryption.key_pem))
    try:
        yield made
    finally:
        made.close()


@pytest.fixture(scope="module")
def metadata(keys: KeyFiles, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    idp_md = metadata_xml(idp_config(BASE, keys, [], want_signed=False))
    folder = tmp_path_factory.mktemp("sps")
    return [ServiceProvider(f"https://sp{i}.example/sp", folder / str(i), idp_md).metadata
            for i in range(2)]


def trust(metadata: str, inum: str, **kw: object) -> Trust:
    entity_id = metadata.split('entityID="', 1)[1].split('"', 1)[0]
    return Trust(inum=inum, name=f"SP {inum}", entity_id=entity_id, metadata=metadata,
                 **kw)  # type: ignore[arg-type]


def test_files_hold_the_trust_exactly(metadata: list[str], tmp_path: Path) -> None:
    files = TrustFiles(tmp_path / "trusts")
    one = trust(metadata[0], "saml-01", release=("uid", "memberOf"),
                nameid_format="persistent", sign_assertions=True)
    assert files.write(one) is True
    assert files.write(one) is False  # the same bytes: nothing written (csync2 sees nothing)
    assert (tmp_path / "trusts" / "saml-01.xml").read_text() == metadata[0]
    settings = json.loads((tmp_path / "trusts" / "saml-01.json").read_text())
    assert settings["release"] == ["uid", "memberOf"] and settings["enabled"] is True
    assert files.load() == [one]
    assert not list((tmp_path / "trusts").glob("*.tmp"))


def test_reconcile_adds_changes_and_removes(metadata: list[str], tmp_path: Path) -> None:
    files = TrustFiles(tmp_path)
    one, two = trust(metadata[0], "saml-01"), trust(metadata[1], "saml-02")
    assert files.reconcile([one, two]) == ["wrote saml-01", "wrote saml-02"]
    assert files.reconcile([one, two]) == []
    changed = trust(metadata[1], "saml-02", enabled=False, release=("mail",))
    assert files.reconcile([one, changed]) == ["wrote saml-02"]
    assert files.reconcile([changed]) == ["removed saml-01"]
    assert files.load() == [changed]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["saml-02.json", "saml-02.xml"]


def test_a_pair_that_does_not_match_is_not_served(metadata: list[str], tmp_path: Path) -> None:
    files = TrustFiles(tmp_path)
    one, two = trust(metadata[0], "saml-01"), trust(metadata[1], "saml-02")
    files.reconcile([one, two])
    # a metadata file of another trust under saml-01's name (half copied): left out
    (tmp_path / "saml-01.xml").write_text(metadata[1])
    (tmp_path / "saml-02.json").unlink()  # settings not there yet
    (tmp_path / "saml-03.json").write_text("{not json")
    assert files.load() == []
    files.reconcile([one, two])  # the next pass repairs them
    assert files.load() == [one, two]


def test_an_inum_never_names_a_file_elsewhere(metadata: list[str], tmp_path: Path) -> None:
    files = TrustFiles(tmp_path)
    for inum in ("../x", ".hidden", ""):
        with pytest.raises(ValueError):
            files.write(trust(metadata[0], inum))


def test_settings_are_stable_bytes(metadata: list[str]) -> None:
    one = trust(metadata[0], "saml-01")
    assert settings_json(one) == settings_json(trust(metadata[0], "saml-01"))
    assert settings_json(one) != settings_json(trust(metadata[0], "saml-01", enabled=False))


def test_engine_serves_the_files_and_fetches_a_missing_sp_from_the_directory(
        keys: KeyFiles, metadata: list[str], tmp_path: Path) -> None:
    """The directory knows both SPs; the files only the first (the second was just
    added): a request naming the second fetches it into the files at once."""
    one, two = trust(metadata[0], "saml-01"), trust(metadata[1], "saml-02")
    files = TrustFiles(tmp_path)
    files.write(one)
    directory = {t.entity_id: t for t in (one, two)}
    source = TrustSource(files, lambda: list(directory.values()), directory.get)
    engine = Engine(BASE, keys, source.load, on_miss=source.fetch)

    async def run() -> None:
        snapshot, found = await engine.lookup(one.entity_id)
        assert found is not None and list(snapshot.trusts) == [one.entity_id]
        _, found = await engine.lookup(two.entity_id)
        assert found is not None and found[0] == two
        _, unknown = await engine.lookup("https://nobody.example/sp")
        assert unknown is None

    asyncio.run(run())
    assert files.load() == [one, two]
