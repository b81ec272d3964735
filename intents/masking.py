"""Masking of personal data in free text: identity numbers (Chilean RUN/RUT, passport-like
numbers), and for logs that must not point at anyone, phone numbers and e-mail addresses."""

from __future__ import annotations

import re

from intents.i18n import N_, Texts

_DASH = "-\u2010\u2011\u2012\u2013\u2014\u2212"
# RUN/RUT: 7-8 digits (optionally grouped with dots or spaces) + a dash + verifier digit or K,
# also when glued to letters ("rut12.345.678-9").
_RUT = re.compile(rf"(?<!\d)\d{{1,2}}(?:[.\s]?\d{{3}}){{2}}\s*[{_DASH}]\s*[\dkK](?![\dkK])")
# Passport-like and other long numbers: an optional 1-3 letter prefix and 6 or more digits
# (identity cards, DNI, passports, card numbers are personal data too).
_DOCUMENT = re.compile(r"(?<![A-Za-z\d])[A-Za-z]{0,3}\d{6,}[A-Za-z]?(?![A-Za-z\d])|\d{6,}")

# E-mail addresses (masked before numbers: an address may hold digits).
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Phone numbers: an optional + or 00, then 8 to 15 digits in groups separated by one space,
# dot, dash or parenthesis ("+56 9 0000 0001", "(2) 2345-6789"). A date written with a
# four-digit year can be caught too: the unanswered-question log prefers losing a date to
# keeping a phone.
_PHONE = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d(?:[\s.()\-]{0,2}\d){7,14}(?!\d)")

# Stored as written here (the case, the relay's journal); shown in the reader's language.
MASK = N_("[dato oculto]")


def shown(t: Texts, text: str) -> str:
    """A text as its reader sees it: its masks in their language (`t`)."""
    return text.replace(MASK, t._(MASK)) if MASK in text else text


def mask_identifiers(text: str) -> tuple[str, int]:
    """The text with identity numbers replaced, and how many were masked.

    Repeated until nothing changes: masking one number can expose the edge of a number
    glued to it ("1.000.000-k1000000-0"), so a single pass is not enough to be idempotent.
    """
    total = 0
    for _ in range(5):
        masked, n_rut = _RUT.subn(MASK, text)
        masked, n_doc = _DOCUMENT.subn(MASK, masked)
        if n_rut + n_doc == 0:
            break
        total += n_rut + n_doc
        text = masked
    return text, total


def mask_personal(text: str) -> tuple[str, int]:
    """The text with identity numbers, phone numbers and e-mail addresses replaced, and how
    many were masked: for text kept without knowing who wrote it (unanswered questions)."""
    text, n_email = _EMAIL.subn(MASK, text)
    text, n_ids = mask_identifiers(text)
    total = n_email + n_ids
    for _ in range(5):
        text, n_phone = _PHONE.subn(MASK, text)
        if n_phone == 0:
            break
        total += n_phone
    return text, total
