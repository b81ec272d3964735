"""Roles and the server-side check every command and button press goes through."""

from __future__ import annotations

from collections.abc import Collection

from intents.context import Context
from intents.errors import NotAllowed
from storage.states import Role

# Declared once, in storage (storage/states.py); the short names are what the flows use.
MIGRANT = Role.MIGRANT
MUNICIPAL = Role.MUNICIPAL
OFFICER = Role.OFFICER
ADMIN = Role.ADMIN
ROLES = tuple(Role)


def allowed(role: str, roles: Collection[str]) -> bool:
    """May a user with `role` do what is open to `roles`? Everyone when empty; admins always."""
    return not roles or role == ADMIN or role in roles


def not_allowed(ctx: Context) -> NotAllowed:
    """The refusal of an action the user's role does not allow (the router's and require's)."""
    return NotAllowed(ctx.t._("Esta opción no está disponible para tu perfil."))


def require(ctx: Context, *roles: str) -> None:
    """Raise NotAllowed unless the user has one of `roles` (admins may do everything)."""
    if ctx.user.role == ADMIN or ctx.user.role in roles:
        return
    raise not_allowed(ctx)
