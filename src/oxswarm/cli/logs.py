"""How every OxSwarm process logs to stderr: ``warning: message``, or with ``-v`` the
time, level and logger's module too (never a source file and line)."""

from __future__ import annotations

import logging
import sys

VERBOSE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
PLAIN_FORMAT = "%(levelname)s: %(message)s"


def configure(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format=VERBOSE_FORMAT if verbose else PLAIN_FORMAT,
        stream=sys.stderr,
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(_lower_level)


def _lower_level(record: logging.LogRecord) -> bool:
    record.levelname = record.levelname.lower()
    return True
