"""Roles and the server-side check every command and button press goes through."""

from __future__ import annotations

from intents.context import Context
from intents.errors import NotAllowed
from storage.states import Role

# Declared once, in storage (storage/states.py); the short names are what the flows use.
MIGRANT = Role.MIGRANT
MUNICIPAL = Role.MUNICIPAL
OFFICER = Role.OFFICER
ADMIN = Role.ADMIN
ROLES = tuple(Role)


def require(ctx: Context, *roles: str) -> None:
    """Raise NotAllowed unless the user has one of `roles` (admins may do everything)."""
    if ctx.user.role == ADMIN or ctx.user.role in roles:
        return
    raise NotAllowed(ctx.t._("Esta opción no está disponible para tu perfil."))
