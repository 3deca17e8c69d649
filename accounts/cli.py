"""What `xiansuo users add` does, kept out of the command line's argument handling.

The command line is the only way to create officer accounts (三员): the API refuses to.
"""

from __future__ import annotations

import getpass
from collections.abc import Sequence
from typing import TextIO

from sqlalchemy import Engine

from accounts.roles import parse_roles
from accounts.users import add_user
from common.errors import InvalidInputError


def read_new_password(from_stdin: bool, stdin: TextIO) -> str:
    """The new password: one line of ``stdin`` (its newline removed), or typed twice at a prompt."""
    if from_stdin:
        return stdin.readline().removesuffix("\n").removesuffix("\r")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise InvalidInputError("the two passwords differ")
    return first


def run_users_add(
    engine: Engine, name: str, roles: Sequence[str], region: str, password: str
) -> str:
    """Create the account (the caller has brought the store to the code's schema); the line to
    print. Raises ``DomainError``."""
    user = add_user(engine, name, parse_roles(roles), region, password)
    held = ",".join(sorted(user.roles)) or "none"
    return (
        f"added user {user.username} (id {user.id}) roles={held} jurisdiction={user.jurisdiction}"
    )
