import subprocess
import sys

from click.testing import CliRunner

from oxswarm import __version__
from oxswarm.cli.main import cli


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_unknown_command_is_a_usage_error_without_traceback() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "oxswarm", "no-such-command"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "no-such-command" in proc.stderr


def test_warnings_read_plain_without_module_or_source_file() -> None:
    code = ("import logging, sys; from oxswarm.cli.main import cli; "
            "cli.add_command(__import__('click').command('warn')("
            "lambda: logging.getLogger('oxswarm.deploy.deployer').warning('store slow: %s', "
            "'2.1 s'))); cli(['warn'], standalone_mode=False)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "warning: store slow: 2.1 s\n"
