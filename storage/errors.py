"""Storage-level exceptions: driver errors turned into our own words."""


class AlreadyHandled(Exception):
    """The update was handled before (a platform re-delivered it)."""


class Duplicate(Exception):
    """A row with the same unique key exists (the driver's IntegrityError, in our words)."""


class Inconsistent(Exception):
    """A row the schema guarantees is missing: a bug or a hand-edited database, never a user's
    mistake. A real check, unlike an `assert`, which `python -O` removes."""
