"""Roles: the role table, three-officer separation (三员分立) and who may administer whom."""

from __future__ import annotations

from collections.abc import Callable
from itertools import combinations, product

import pytest

from accounts.roles import (
    PERMISSION_TABLE,
    ROLE_TABLE,
    Permission,
    Role,
    RoleTableError,
    check_may_administer,
    check_may_set_roles,
    check_role_set,
    load_role_rules,
    parse_roles,
    require_permission,
    role_rules,
)
from common.errors import PermissionDeniedError, RoleConflictError, UnknownRoleError

OFFICERS = (Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.SECURITY_AUDITOR)
DATA = (Role.INVESTIGATOR, Role.APPROVER, Role.SPECIAL_TASK, Role.ANALYST)
P = Permission

# The whole permission matrix, written out: a change to the table must change this too.
EXPECTED_PERMISSIONS = {
    Role.INVESTIGATOR: {P.APPLY, P.READ_REGISTRY},
    Role.SPECIAL_TASK: {P.APPLY, P.READ_REGISTRY, P.HOLD_CROSS_TIER_GRANT},
    Role.ANALYST: {P.APPLY, P.READ_REGISTRY},
    Role.APPROVER: {P.APPROVE},
    Role.SYSTEM_ADMIN: {P.MANAGE_ACCOUNTS},
    Role.SECURITY_ADMIN: {P.ASSIGN_ROLES, P.GRANT_CROSS_TIER},
    Role.SECURITY_AUDITOR: {P.READ_AUDIT_LOG},
}


def test_officer_roles_are_the_three_posts() -> None:
    assert role_rules().officer_roles == set(OFFICERS)


@pytest.mark.parametrize(("role", "expected"), EXPECTED_PERMISSIONS.items())
def test_role_has_exactly_its_permissions(role: Role, expected: set[Permission]) -> None:
    assert role_rules().permissions[role] == expected


@pytest.mark.parametrize(("first", "second"), list(combinations(OFFICERS, 2)))
def test_two_officer_roles_are_refused(first: Role, second: Role) -> None:
    with pytest.raises(RoleConflictError, match=rf"(?=.*{first})(?=.*{second})"):
        check_role_set({first, second})


def test_all_three_officer_roles_are_refused() -> None:
    with pytest.raises(RoleConflictError, match="三员"):
        check_role_set(set(OFFICERS))


@pytest.mark.parametrize(("officer", "data"), list(product(OFFICERS, DATA)))
def test_officer_with_data_role_is_refused(officer: Role, data: Role) -> None:
    with pytest.raises(RoleConflictError, match=rf"officer role {officer} .*data role {data}"):
        check_role_set({officer, data})


@pytest.mark.parametrize("roles", [{r} for r in Role] + [set(DATA), set(), {DATA[0], DATA[1]}])
def test_allowed_role_sets_pass(roles: set[Role]) -> None:
    check_role_set(roles)  # raises on a conflict


def test_role_conflict_is_a_422() -> None:
    assert RoleConflictError.status == 422


@pytest.mark.parametrize("role", OFFICERS)
def test_officers_cannot_read_registry_data(role: Role) -> None:
    with pytest.raises(PermissionDeniedError) as caught:
        require_permission({role}, Permission.READ_REGISTRY)
    assert caught.value.status == 403


@pytest.mark.parametrize("role", [Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN])
def test_administrators_cannot_read_the_audit_log(role: Role) -> None:
    with pytest.raises(PermissionDeniedError):
        require_permission({role}, Permission.READ_AUDIT_LOG)


def test_approver_alone_cannot_read_registry_data() -> None:
    with pytest.raises(PermissionDeniedError):
        require_permission({Role.APPROVER}, Permission.READ_REGISTRY)


def test_approver_who_is_also_investigator_can_read_registry_data() -> None:
    require_permission({Role.APPROVER, Role.INVESTIGATOR}, Permission.READ_REGISTRY)


def test_parse_roles_names_the_unknown_role() -> None:
    with pytest.raises(UnknownRoleError, match="'admin'"):
        parse_roles(["investigator", "admin"])


def test_parse_roles_collapses_repeats() -> None:
    assert parse_roles(["analyst", "analyst"]) == {Role.ANALYST}


RoleRows = list[tuple[str, str, tuple[str, ...], str]]


def _edit_role(
    role: str,
    *,
    name: str | None = None,
    kind: str | None = None,
    permissions: tuple[str, ...] | None = None,
) -> Callable[[RoleRows], RoleRows]:
    """A table edit that changes the fields given for the entry of ``role``."""

    def edit(rows: RoleRows) -> RoleRows:
        return [
            (
                name if name is not None else row[0],
                kind if kind is not None else row[1],
                permissions if permissions is not None else row[2],
                row[3],
            )
            if row[0] == role
            else row
            for row in rows
        ]

    return edit


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_edit_role("analyst", name="analyste"), "entry 'analyste': unknown Role"),
        (_edit_role("analyst", kind="guest"), "entry 'analyst': unknown RoleKind"),
        (_edit_role("analyst", permissions=("fly",)), "entry 'analyst': unknown Permission"),
        (_edit_role("analyst", permissions=()), "entry 'analyst': a role must allow"),
        (
            _edit_role("security_auditor", permissions=("read_audit_log", "read_registry")),
            "entry 'security_auditor': read_registry belongs to data roles",
        ),
        (
            _edit_role("investigator", permissions=("read_registry", "read_audit_log")),
            "entry 'investigator': read_audit_log belongs to officer roles",
        ),
        (
            _edit_role("system_admin", permissions=("manage_accounts", "read_audit_log")),
            "read_audit_log is already",
        ),
        (lambda rows: [*rows, rows[0]], "entry 'investigator': listed twice"),
        (lambda rows: rows[1:], "no entry for investigator"),
    ],
)
def test_bad_role_table_names_the_entry(edit: Callable[[RoleRows], RoleRows], message: str) -> None:
    with pytest.raises(RoleTableError, match=message):
        load_role_rules(edit(list(ROLE_TABLE)), PERMISSION_TABLE)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (PERMISSION_TABLE[1:], "permission table: no entry for read_registry"),
        ((*PERMISSION_TABLE, PERMISSION_TABLE[0]), "entry 'read_registry': listed twice"),
        (
            (("read_registry", "officer", ""), *PERMISSION_TABLE[1:]),
            "entry 'investigator': read_registry belongs to officer roles",
        ),
    ],
)
def test_bad_permission_table_is_refused(
    rows: tuple[tuple[str, str, str], ...], message: str
) -> None:
    with pytest.raises(RoleTableError, match=message):
        load_role_rules(ROLE_TABLE, rows)


SA, SYS, AUD, INV = Role.SECURITY_ADMIN, Role.SYSTEM_ADMIN, Role.SECURITY_AUDITOR, Role.INVESTIGATOR


def test_security_admin_gives_data_roles_to_another_data_account() -> None:
    check_may_set_roles({SA}, {INV}, {INV, Role.ANALYST}, on_self=False)


@pytest.mark.parametrize(
    ("actor", "target", "new", "on_self", "message"),
    [
        ({SYS}, {INV}, {Role.ANALYST}, False, "assign_roles permission"),
        ({AUD}, {INV}, {Role.ANALYST}, False, "assign_roles permission"),
        ({INV}, {INV}, {Role.ANALYST}, False, "assign_roles permission"),
        ({SA}, {SA}, set(), True, "own account"),
        ({SA}, {AUD}, set(), False, "officer accounts are managed with the command line"),
        ({SA}, set(), {AUD}, False, "security_auditor is an officer role"),
        ({SA}, {INV}, {SYS}, False, "system_admin is an officer role"),
    ],
)
def test_role_changes_refused(
    actor: set[Role], target: set[Role], new: set[Role], on_self: bool, message: str
) -> None:
    with pytest.raises(PermissionDeniedError, match=message):
        check_may_set_roles(actor, target, new, on_self=on_self)


def test_system_admin_manages_a_data_account() -> None:
    check_may_administer(Permission.MANAGE_ACCOUNTS, {SYS}, {INV}, on_self=False)


@pytest.mark.parametrize(
    ("actor", "target", "on_self", "message"),
    [
        ({SYS}, {SA}, False, "holds security_admin"),
        ({SYS}, {AUD}, False, "holds security_auditor"),
        ({SYS}, {SYS}, True, "own account"),
        ({AUD}, {INV}, False, "manage_accounts permission"),
        ({SA}, {INV}, False, "manage_accounts permission"),
    ],
)
def test_account_management_refused(
    actor: set[Role], target: set[Role], on_self: bool, message: str
) -> None:
    with pytest.raises(PermissionDeniedError, match=message):
        check_may_administer(Permission.MANAGE_ACCOUNTS, actor, target, on_self=on_self)
