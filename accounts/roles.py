"""Roles and what they permit, kept as data: two tables, loaded and validated once.

Three-officer separation (三员分立): system_admin, security_admin and security_auditor are
*officer* roles. An account holds at most one of them and then no data role; no officer permission
lets anyone read registry data; each officer duty belongs to exactly one officer post, so the
auditor audits the other two and neither administrator can read the log. The loader refuses a
table that breaks any of this, so an edit cannot quietly weaken it.

Decisions recorded here:
- approver (leader) approves other users' applications and cross-tier grants and reads no registry
  data with that role alone; a leader who also searches holds investigator as well. Data roles
  combine freely; the applications module refuses self-approval.
- system_admin creates, disables, enables and unlocks accounts and resets passwords, but gives no
  roles; security_admin gives and takes data roles, sets jurisdictions and creates cross-tier
  grants; security_auditor reads and verifies the log. Through the API nobody acts on their own
  account or on an officer account: officer accounts are provisioned with the command line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Final, TypeVar

from common.errors import PermissionDeniedError, RoleConflictError, UnknownRoleError

_E = TypeVar("_E", bound=StrEnum)


class Role(StrEnum):
    """The closed set of roles; the value is what the store and the tokens hold."""

    INVESTIGATOR = "investigator"
    APPROVER = "approver"
    SPECIAL_TASK = "special_task"
    ANALYST = "analyst"
    SECURITY_AUDITOR = "security_auditor"
    SECURITY_ADMIN = "security_admin"
    SYSTEM_ADMIN = "system_admin"


class RoleKind(StrEnum):
    """Data roles work on cases; officer roles (三员) run the system and never see its data."""

    DATA = "data"
    OFFICER = "officer"


class Permission(StrEnum):
    """What a role allows; routes and the gate ask for permissions, never for role names."""

    READ_REGISTRY = "read_registry"
    APPLY = "apply"
    APPROVE = "approve"
    HOLD_CROSS_TIER_GRANT = "hold_cross_tier_grant"
    MANAGE_ACCOUNTS = "manage_accounts"
    ASSIGN_ROLES = "assign_roles"
    GRANT_CROSS_TIER = "grant_cross_tier"
    READ_AUDIT_LOG = "read_audit_log"


# permission, the kind of role that may hold it, what it allows
PERMISSION_TABLE: Final[tuple[tuple[str, str, str], ...]] = (
    ("read_registry", "data", "search, profiles, graph and exports, always under an application"),
    ("apply", "data", "file query applications (查询申请) for a case"),
    ("approve", "data", "approve or reject another user's application or cross-tier grant"),
    ("hold_cross_tier_grant", "data", "receive a grant that widens the jurisdiction across tiers"),
    ("manage_accounts", "officer", "create, disable, enable, unlock accounts; reset passwords"),
    ("assign_roles", "officer", "give and take data roles; set an account's jurisdiction"),
    ("grant_cross_tier", "officer", "create cross-tier grants (an approver must approve them)"),
    ("read_audit_log", "officer", "read, review and verify the query log"),
)

# role, kind, permissions, why
ROLE_TABLE: Final[tuple[tuple[str, str, tuple[str, ...], str], ...]] = (
    ("investigator", "data", ("apply", "read_registry"), "searches for a case (调查人员)"),
    ("special_task", "data", ("apply", "read_registry", "hold_cross_tier_grant"), "专班 themes"),
    ("analyst", "data", ("apply", "read_registry"), "explores relationships (分析人员)"),
    (
        "approver",
        "data",
        ("approve",),
        "a leader approves queries; reads data only as investigator",
    ),
    ("system_admin", "officer", ("manage_accounts",), "系统管理员: accounts, not authorisations"),
    ("security_admin", "officer", ("assign_roles", "grant_cross_tier"), "安全管理员: authorises"),
    ("security_auditor", "officer", ("read_audit_log",), "安全审计员: audits the other two"),
)


class RoleTableError(ValueError):
    """The role or permission table is malformed; the message names the bad entry."""


@dataclass(frozen=True, slots=True)
class RoleRules:
    """The validated tables: each role's kind and permissions."""

    kinds: Mapping[Role, RoleKind]
    permissions: Mapping[Role, frozenset[Permission]]

    @property
    def officer_roles(self) -> frozenset[Role]:
        return frozenset(r for r, kind in self.kinds.items() if kind is RoleKind.OFFICER)

    @property
    def data_roles(self) -> frozenset[Role]:
        return frozenset(r for r, kind in self.kinds.items() if kind is RoleKind.DATA)

    def permissions_of(self, roles: Iterable[Role]) -> frozenset[Permission]:
        """The union of the permissions of ``roles``."""
        return frozenset().union(*(self.permissions[r] for r in roles))


def _member(enum: type[_E], value: str, where: str) -> _E:
    try:
        return enum(value)
    except ValueError:
        raise RoleTableError(f"{where}: unknown {enum.__name__} {value!r}") from None


def _load_permission_kinds(rows: Iterable[tuple[str, str, str]]) -> dict[Permission, RoleKind]:
    kinds: dict[Permission, RoleKind] = {}
    for name, kind, _what in rows:
        where = f"permission table entry {name!r}"
        permission = _member(Permission, name, where)
        if permission in kinds:
            raise RoleTableError(f"{where}: listed twice")
        kinds[permission] = _member(RoleKind, kind, where)
    if missing := sorted(set(Permission) - set(kinds)):
        raise RoleTableError(f"permission table: no entry for {', '.join(missing)}")
    return kinds


def load_role_rules(
    role_rows: Iterable[tuple[str, str, tuple[str, ...], str]],
    permission_rows: Iterable[tuple[str, str, str]],
) -> RoleRules:
    """Validate the tables and build the rules; raises ``RoleTableError`` naming the bad entry."""
    permission_kinds = _load_permission_kinds(permission_rows)
    kinds: dict[Role, RoleKind] = {}
    permissions: dict[Role, frozenset[Permission]] = {}
    duty_holder: dict[Permission, Role] = {}
    for name, kind_name, granted, _why in role_rows:
        where = f"role table entry {name!r}"
        role = _member(Role, name, where)
        if role in kinds:
            raise RoleTableError(f"{where}: listed twice")
        kind = _member(RoleKind, kind_name, where)
        held = frozenset(_member(Permission, p, where) for p in granted)
        if not held:
            raise RoleTableError(f"{where}: a role must allow something")
        for permission in sorted(held):
            if permission_kinds[permission] is not kind:
                raise RoleTableError(
                    f"{where}: {permission} belongs to {permission_kinds[permission]} roles, "
                    f"not to a {kind} role"
                )
            if kind is RoleKind.OFFICER:
                if (other := duty_holder.get(permission)) is not None:
                    raise RoleTableError(f"{where}: {permission} is already {other}'s duty")
                duty_holder[permission] = role
        kinds[role], permissions[role] = kind, held
    if missing := sorted(set(Role) - set(kinds)):
        raise RoleTableError(f"role table: no entry for {', '.join(missing)}")
    return RoleRules(kinds=kinds, permissions=permissions)


@cache
def role_rules() -> RoleRules:
    """The rules of ``ROLE_TABLE`` and ``PERMISSION_TABLE``, validated on first use."""
    return load_role_rules(ROLE_TABLE, PERMISSION_TABLE)


def parse_roles(values: Iterable[str]) -> frozenset[Role]:
    """Role names as given by a client or the command line; an unknown name is a 422."""
    roles: set[Role] = set()
    for value in values:
        try:
            roles.add(Role(value))
        except ValueError:
            allowed = ", ".join(Role)
            raise UnknownRoleError(f"unknown role {value!r}; roles are {allowed}") from None
    return frozenset(roles)


def check_role_set(roles: Iterable[Role], rules: RoleRules | None = None) -> None:
    """Refuse a role set one account may not hold (三员分立), naming the conflicting roles."""
    rules = rules or role_rules()
    held = set(roles)
    officers = sorted(held & rules.officer_roles)
    if len(officers) > 1:
        raise RoleConflictError(
            f"{' and '.join(officers)} cannot be held by one account: "
            "each officer post (三员) is a separate account"
        )
    if officers and (data := sorted(held - rules.officer_roles)):
        raise RoleConflictError(
            f"officer role {officers[0]} cannot be combined with data role "
            f"{', '.join(data)}: officers never read registry data"
        )


def require_permission(
    roles: Iterable[Role], permission: Permission, rules: RoleRules | None = None
) -> None:
    """Refuse (403) unless one of ``roles`` allows ``permission``."""
    if permission not in (rules or role_rules()).permissions_of(roles):
        raise PermissionDeniedError(f"this action needs the {permission} permission")


def check_may_administer(
    permission: Permission,
    actor_roles: Iterable[Role],
    target_roles: Iterable[Role],
    *,
    on_self: bool,
    rules: RoleRules | None = None,
) -> None:
    """An API action on an account: the actor holds ``permission`` and the target is another,
    non-officer account (officer accounts are provisioned with the command line only)."""
    rules = rules or role_rules()
    require_permission(actor_roles, permission, rules)
    if on_self:
        raise PermissionDeniedError("no one administers their own account")
    if officers := sorted(set(target_roles) & rules.officer_roles):
        raise PermissionDeniedError(
            f"the account holds {officers[0]}; officer accounts are managed with the command line"
        )


def check_may_set_roles(
    actor_roles: Iterable[Role],
    target_roles: Iterable[Role],
    new_roles: Iterable[Role],
    *,
    on_self: bool,
    rules: RoleRules | None = None,
) -> None:
    """The security administrator gives another account a set of data roles only."""
    rules = rules or role_rules()
    check_may_administer(
        Permission.ASSIGN_ROLES, actor_roles, target_roles, on_self=on_self, rules=rules
    )
    new = set(new_roles)
    if officers := sorted(new & rules.officer_roles):
        raise PermissionDeniedError(
            f"{officers[0]} is an officer role; officer accounts are made with the command line"
        )
    check_role_set(new, rules)
