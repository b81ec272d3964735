"""Storage-level exceptions: driver errors turned into our own words."""


class AlreadyHandled(Exception):
    """The update was handled before (a platform re-delivered it)."""
