"""Masking of identity numbers in free text (Chilean RUN/RUT, passport-like numbers)."""

from __future__ import annotations

import re

# RUN/RUT: 7-8 digits (optionally with thousands dots) + verifier digit or K.
_RUT = re.compile(
    r"(?<![\w.])\d{1,2}(?:\.?\d{3}){2}\s*-\s*[\dkK](?![\w])|(?<![\w.])\d{7,8}[-‐][\dkK]\b"
)
# Passport-like: an optional 1-3 letter prefix and 6-10 digits, or long digit runs
# (identity cards, DNI, phone numbers are personal data too).
_DOCUMENT = re.compile(r"\b[A-Za-z]{0,3}\d{6,12}[A-Za-z]?\b")

MASK = "[dato oculto]"


def mask_identifiers(text: str) -> tuple[str, int]:
    """The text with identity numbers replaced, and how many were masked."""
    masked, n_rut = _RUT.subn(MASK, text)
    masked, n_doc = _DOCUMENT.subn(MASK, masked)
    return masked, n_rut + n_doc
