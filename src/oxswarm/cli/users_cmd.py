"""``oxswarm users``: people in the directory (add, list, show, remove, passwd, unlink).

Passwords are stored as Argon2id hashes made here (``Directory.set_password``); a
weak password (under 8 characters, or the username) exits 2 naming ``password``.
A password is never taken from the command line (:mod:`oxswarm.cli.password_input`: a
hidden prompt, ``--password-file`` or ``--password-stdin``). Output is JSON.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import click
from pydantic import ValidationError

from oxswarm.cli.audit_cmd import record_cli
from oxswarm.cli.directory_options import ldap_url_option, open_directory
from oxswarm.cli.options import store_options
from oxswarm.cli.password_input import password_options, read_password
from oxswarm.directory.models import Person
from oxswarm.directory.people import PeopleRepository
from oxswarm.errors import InvalidInput, NotFound
from oxswarm.settings import Settings

MIN_PASSWORD = 8


def check_password(username: str, password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(
            f"password: too weak (at least {MIN_PASSWORD} characters)", field="password"
        )
    if password.lower() == username.lower():
        raise InvalidInput("password: too weak (must differ from the username)", field="password")
    return password


def build_person(
    username: str, email: str | None, given_name: str | None, family_name: str | None
) -> Person:
    try:
        return Person(
            inum=str(uuid.uuid4()),
            uid=username,
            email=email or None,
            given_name=given_name or None,
            family_name=family_name or username,
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        name = {
            "uid": "username",
            "email": "email",
            "given_name": "given-name",
            "family_name": "family-name",
        }.get(str(error["loc"][0]), str(error["loc"][0]))
        raise InvalidInput(
            f"{name}: {error['msg'].removeprefix('Value error, ')}", field=name
        ) from exc


def person_json(person: Person) -> dict[str, Any]:
    out: dict[str, Any] = {"inum": person.inum, "username": person.uid}
    for name in ("email", "given_name", "family_name", "status"):
        value = getattr(person, name)
        if value:
            out[name] = value
    return out


@click.group("users")
def users_group() -> None:
    """People who sign in (the directory's ou=people)."""


@users_group.command("add")
@click.option("--username", required=True)
@password_options
@click.option("--email", default=None)
@click.option("--given-name", default=None)
@click.option("--family-name", default=None)
@store_options
@ldap_url_option
def add_user(
    *,
    settings: Settings,
    ldap_urls: tuple[str, ...],
    username: str,
    email: str | None,
    given_name: str | None,
    family_name: str | None,
    **source: Any,
) -> None:
    """Add a person with a password; prints the person as JSON."""
    password = read_password(**source)
    person = build_person(username, email, given_name, family_name)
    check_password(username, password)
    with open_directory(settings, ldap_urls) as access:
        added = PeopleRepository(access.directory, access.tree).add(person, password)
        record_cli(access, "person.create", added.inum, person_json(added))
    click.echo(json.dumps(person_json(added)))


@users_group.command("list")
@store_options
@ldap_url_option
def list_users(settings: Settings, ldap_urls: tuple[str, ...]) -> None:
    """Every person as a JSON array."""
    with open_directory(settings, ldap_urls) as access:
        people = PeopleRepository(access.directory, access.tree).list()
    click.echo(json.dumps([person_json(p) for p in people]))


def _by_username(repo: PeopleRepository, username: str) -> Person:
    person = repo.get_by_uid(username)
    if person is None:
        raise NotFound(f"no user {username!r}")
    return person


@users_group.command("remove")
@click.option("--username", required=True)
@store_options
@ldap_url_option
def remove_user(settings: Settings, ldap_urls: tuple[str, ...], username: str) -> None:
    """Delete a person."""
    with open_directory(settings, ldap_urls) as access:
        repo = PeopleRepository(access.directory, access.tree)
        gone = _by_username(repo, username)
        repo.remove(gone.inum)
        record_cli(access, "person.delete", gone.inum, {"uid": username})
    click.echo(json.dumps({"removed": username}))


@users_group.command("show")
@click.argument("username")
@store_options
@ldap_url_option
def show_user(settings: Settings, ldap_urls: tuple[str, ...], username: str) -> None:
    """One person as JSON, with the upstream identities linked to them (``links``)."""
    with open_directory(settings, ldap_urls) as access:
        repo = PeopleRepository(access.directory, access.tree)
        person = _by_username(repo, username)
        links = repo.external_uids(person.inum)
    click.echo(json.dumps({**person_json(person), "links": links}))


@users_group.command("unlink")
@click.argument("username")
@click.option("--link", required=True, help="The link to remove: passport-ID:SUBJECT.")
@store_options
@ldap_url_option
def unlink_user(settings: Settings, ldap_urls: tuple[str, ...], username: str,
                link: str) -> None:
    """Remove a link to an upstream identity (the next sign-in with it follows the
    provider's linking mode again)."""
    with open_directory(settings, ldap_urls) as access:
        repo = PeopleRepository(access.directory, access.tree)
        person = _by_username(repo, username)
        try:
            repo.remove_external_uid(person.inum, link)
        except NotFound as exc:
            raise InvalidInput(f"link: {exc}", field="link") from None
        record_cli(access, "person.unlink", person.inum, {"uid": username, "link": link})
        links = repo.external_uids(person.inum)
    click.echo(json.dumps({"username": username, "links": links}))


@users_group.command("passwd")
@click.option("--username", required=True)
@password_options
@store_options
@ldap_url_option
def passwd(settings: Settings, ldap_urls: tuple[str, ...], username: str, **source: Any) -> None:
    """Set a person's password."""
    password = check_password(username, read_password(prompt="New password", **source))
    with open_directory(settings, ldap_urls) as access:
        repo = PeopleRepository(access.directory, access.tree)
        person = _by_username(repo, username)
        repo.set_password(person.inum, password)
        record_cli(access, "person.password", person.inum, {"uid": username})
    click.echo(json.dumps({"username": username, "password": "changed"}))
