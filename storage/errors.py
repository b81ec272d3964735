"""Storage-level exceptions: driver errors turned into our own words."""

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout


class AlreadyHandled(Exception):
    """The update was handled before (a platform re-delivered it)."""


class Duplicate(Exception):
    """A row with the same unique key exists (the driver's IntegrityError, in our words)."""


class Inconsistent(Exception):
    """A row the schema guarantees is missing: a bug or a hand-edited database, never a user's
    mistake. A real check, unlike an `assert`, which `python -O` removes."""


def unavailable(exc: BaseException) -> bool:
    """Whether a driver error says the database could not take the work now (unreachable, a
    lost connection, locked or busy, a full pool): a later try may succeed, unlike a bug
    (a constraint or a programming error), which would fail the same way again."""
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)
