"""``oxswarm config``: config-init's generate / dump / load, plus show and get.

Exit codes (see :mod:`oxswarm.cli.main`): 0 success, 2 invalid input (the message names
the field), 1 when the store cannot be reached (the message names every endpoint tried)
or a secret cannot be opened.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from oxswarm.cli.options import master_key_path, open_manager, open_store, store_options
from oxswarm.config.generate import generate
from oxswarm.config.manager import MASK, ConfigManager, check_name
from oxswarm.config.params import Params
from oxswarm.config.secrets import SecretBox, create_key_file
from oxswarm.crypto.pki import CertAndKey, key_matches_cert
from oxswarm.errors import InvalidInput, NotFound
from oxswarm.settings import Settings

# (field, prompt) in the order the original config.sh asked
PROMPTS = (
    ("hostname", "Hostname (fully qualified, e.g. id.example.org)"),
    ("country_code", "Country code (2 letters)"),
    ("state", "State or region"),
    ("city", "City"),
    ("admin_email", "Admin e-mail"),
    ("org_name", "Organisation"),
)
MAX_ATTEMPTS = 3
SHOW_WIDTH = 60


@click.group("config")
def config_group() -> None:
    """The cluster's configuration and secrets in the config store (config-init)."""


def _ask(field: str) -> str:
    if field == "admin_pw":
        return str(
            click.prompt(
                "Admin password (8+ characters: upper, lower, digit, special)",
                hide_input=True,
                confirmation_prompt="Admin password again",
            )
        )
    return str(click.prompt(dict(PROMPTS)[field]))


def prompt_params() -> Params:
    """Ask like config.sh did; a bad answer is asked again (at most three times)."""
    answers = {field: _ask(field) for field, _ in PROMPTS}
    answers["admin_pw"] = _ask("admin_pw")
    for _ in range(MAX_ATTEMPTS):
        try:
            return Params.from_mapping(answers)
        except InvalidInput as exc:
            if exc.field not in answers:
                raise
            click.echo(f"invalid: {exc}", err=True)
            answers[exc.field] = _ask(exc.field)
    return Params.from_mapping(answers)


def _read_params(params_file: Path | None, interactive: bool) -> Params:
    if params_file is not None:
        return Params.from_json_file(params_file)
    if interactive or sys.stdin.isatty():
        return prompt_params()
    raise InvalidInput(
        "params: --params FILE is required when not running on a terminal", field="params"
    )


@config_group.command("generate")
@click.option(
    "--params",
    "params_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON object: hostname, country_code, state, city, admin_email, org_name, admin_pw.",
)
@click.option("--overwrite", is_flag=True, help="Replace a configuration the store holds.")
@click.option("--interactive", is_flag=True, hidden=True, help="Prompt even without a tty.")
@click.option("--ca-cert-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Issue the certificates from this cluster CA (PEM) instead of a new one.")
@click.option("--ca-key-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The private key of --ca-cert-file (PEM).")
@store_options
def generate_cmd(  # noqa: PLR0917 (click passes every option)
    settings: Settings, params_file: Path | None, overwrite: bool, interactive: bool,
    ca_cert_file: Path | None, ca_key_file: Path | None,
) -> None:
    """Generate every configuration value and secret of a new cluster and store them.

    Creates the master key file (random, mode 0600) when it does not exist yet.
    """
    params = _read_params(params_file, interactive)
    ca = _read_ca(ca_cert_file, ca_key_file)
    key_path = master_key_path(settings)
    with open_store(settings) as store:
        manager = ConfigManager(store, settings.prefix, None)
        if not overwrite and manager.is_initialised():
            click.echo(_kept_message(settings))
            return
        if key_path.exists():
            manager.box = SecretBox.from_file(key_path)
        else:
            manager.box = SecretBox(create_key_file(key_path))
            click.echo(f"created master key file {key_path} (mode 0600); keep it safe")
        generated = generate(params, ca=ca)
        result = manager.initialise(generated.config, generated.secrets, overwrite)
        if result is None:  # another generator won the race
            click.echo(_kept_message(settings))
            return
    click.echo(
        f"stored {len(generated.config)} configuration values and {len(generated.secrets)} "
        f"secrets for cluster {settings.cluster!r} ({settings.prefix})"
    )


def _kept_message(settings: Settings) -> str:
    return (
        f"the store already holds a configuration for cluster {settings.cluster!r}: "
        "kept it (use --overwrite to replace it)"
    )


def _read_ca(cert_file: Path | None, key_file: Path | None) -> CertAndKey | None:
    """The cluster CA given as files (both or neither); errors name the file."""
    if cert_file is None and key_file is None:
        return None
    if cert_file is None or key_file is None:
        raise InvalidInput("ca-cert-file: give --ca-cert-file and --ca-key-file together",
                           field="ca-cert-file")
    try:
        cert, key = cert_file.read_text(), key_file.read_text()
    except OSError as exc:
        raise InvalidInput(f"ca-cert-file: cannot read {exc.filename}: {exc.strerror}",
                           field="ca-cert-file") from None
    if not key_matches_cert(cert, key):
        raise InvalidInput(f"ca-key-file: {key_file} is not the key of {cert_file}",
                           field="ca-key-file")
    return CertAndKey(cert, key)


@config_group.command("dump")
@click.option(
    "--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write config.json and secret.json into.",
)  # fmt: skip
@click.option("--plaintext", is_flag=True, help="Write secrets decrypted (default: encrypted).")
@store_options
def dump_cmd(settings: Settings, out: Path, plaintext: bool) -> None:
    """Write the configuration to DIR/config.json and DIR/secret.json (mode 0600)."""
    with open_manager(settings) as manager:
        if not manager.is_initialised():
            raise NotFound(_not_initialised(settings))
        config_path, secret_path = manager.dump(out, plaintext=plaintext)
    how = "in clear" if plaintext else "encrypted"
    click.echo(f"wrote {config_path} and {secret_path} (secrets {how})")


@config_group.command("load")
@click.option(
    "--from", "source", required=True,
    type=click.Path(file_okay=False, exists=False, path_type=Path),
    help="Folder holding config.json and secret.json (from dump).",
)  # fmt: skip
@click.option("--overwrite", is_flag=True, help="Replace values the store already holds.")
@store_options
def load_cmd(settings: Settings, source: Path, overwrite: bool) -> None:
    """Load a dump folder into the store; existing keys are kept unless --overwrite."""
    with open_manager(settings) as manager:
        config, secrets = manager.read_dump(source)
        result = manager.load(config, secrets, overwrite=overwrite)
    click.echo(f"stored {len(result.stored)} keys for cluster {settings.cluster!r}")
    if result.kept:
        click.echo(
            f"kept {len(result.kept)} existing keys (use --overwrite to replace them): "
            + ", ".join(result.kept)
        )


def _short(value: str) -> str:
    first = value.splitlines()[0] if value else ""
    if len(first) > SHOW_WIDTH or first != value:
        return f"{first[:SHOW_WIDTH]}... ({len(value)} characters)"
    return value


@config_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (full values).")
@store_options
def show_cmd(settings: Settings, as_json: bool) -> None:
    """Print the configuration; secrets are masked."""
    with open_manager(settings) as manager:
        view = manager.masked()
    if not view["config"] and not view["secret"]:
        raise NotFound(_not_initialised(settings))
    if as_json:
        click.echo(json.dumps({"cluster": settings.cluster, **view}, indent=2, sort_keys=True))
        return
    click.echo(f"cluster {settings.cluster} ({settings.prefix})")
    click.echo("config:")
    for name, value in view["config"].items():
        click.echo(f"  {name} = {_short(value)}")
    click.echo("secrets:")
    for name in view["secret"]:
        click.echo(f"  {name} = {MASK}")


@config_group.command("get")
@click.argument("key")
@store_options
def get_cmd(settings: Settings, key: str) -> None:
    """Print one value; a secret is decrypted (only when asked for by name)."""
    check_name(key)
    with open_manager(settings) as manager:
        try:
            value, _ = manager.get_any(key)
        except NotFound:
            raise InvalidInput(
                f"key: no configuration value or secret named {key!r} in cluster "
                f"{settings.cluster!r}",
                field="key",
            ) from None
    click.echo(value)


def _not_initialised(settings: Settings) -> str:
    return (
        f"the store holds no configuration for cluster {settings.cluster!r} "
        "(run: oxswarm config generate)"
    )
