"""Accounts, roles and jurisdictions (三员分立): access class ADMIN.

The system administrator (manage_accounts) creates accounts without roles, disables, enables and
unlocks them and resets passwords; the security administrator (assign_roles) gives data roles and
sets jurisdictions. Both may list accounts. What each route does is search_api.administration's
(shared with the administration page); this module speaks HTTP. Cross-tier grants are in
``search_api.routers.grants``.
"""

from __future__ import annotations

from fastapi import APIRouter

from search_api import administration
from search_api.access import Access, access
from search_api.administration import (
    JurisdictionRequest,
    NewUserRequest,
    PasswordRequest,
    RolesRequest,
)
from search_api.desk import AccountsDesk, Action, ReadersDesk, RolesDesk
from search_api.models.accounts import UserResponse

router = APIRouter(tags=["admin"])
ADMIN = access(Access.ADMIN)


@router.get("/admin/users", response_model=list[UserResponse], openapi_extra=ADMIN)
def list_accounts(desk: ReadersDesk) -> list[UserResponse]:
    return administration.list_accounts(desk)


@router.post("/admin/users", response_model=UserResponse, status_code=201, openapi_extra=ADMIN)
def create_account(body: NewUserRequest, desk: AccountsDesk) -> UserResponse:
    return administration.create_account(desk, body)


@router.post("/admin/users/{username}/disable", response_model=UserResponse, openapi_extra=ADMIN)
def disable(username: str, desk: AccountsDesk) -> UserResponse:
    return administration.change_status(desk, username, Action.DISABLE)


@router.post("/admin/users/{username}/enable", response_model=UserResponse, openapi_extra=ADMIN)
def enable(username: str, desk: AccountsDesk) -> UserResponse:
    return administration.change_status(desk, username, Action.ENABLE)


@router.post("/admin/users/{username}/unlock", response_model=UserResponse, openapi_extra=ADMIN)
def unlock(username: str, desk: AccountsDesk) -> UserResponse:
    return administration.change_status(desk, username, Action.UNLOCK)


@router.post("/admin/users/{username}/password", response_model=UserResponse, openapi_extra=ADMIN)
def reset_password(username: str, body: PasswordRequest, desk: AccountsDesk) -> UserResponse:
    return administration.reset_password(desk, username, body)


@router.put("/admin/users/{username}/roles", response_model=UserResponse, openapi_extra=ADMIN)
def put_roles(username: str, body: RolesRequest, desk: RolesDesk) -> UserResponse:
    return administration.set_account_roles(desk, username, body)


@router.put(
    "/admin/users/{username}/jurisdiction", response_model=UserResponse, openapi_extra=ADMIN
)
def put_jurisdiction(username: str, body: JurisdictionRequest, desk: RolesDesk) -> UserResponse:
    return administration.set_account_jurisdiction(desk, username, body)
