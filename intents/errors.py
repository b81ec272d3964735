"""Domain exceptions, raised in the core and turned into a localized reply in one place."""


class DomainError(Exception):
    """Base class: `message` is a msgid already translated by the raiser."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotAllowed(DomainError):
    """The user's role does not allow this action."""


class NotFound(DomainError):
    """The thing asked for does not exist (or not for this user)."""


class InvalidInput(DomainError):
    """The input cannot be used; the message says why and what to do."""
