"""Masking of candidates' personal data for callers without the personal-data grant of the
candidate's facility. One set of functions for the API, the admin and the exports."""

from __future__ import annotations

import re

MASK = "***"


def mask_name(value: str) -> str:
    """'Jane' -> 'J***'; each word keeps its first letter."""
    return " ".join(f"{word[0]}{MASK}" for word in value.split()) if value else value


def mask_email(value: str) -> str:
    """'jane.doe@example.com' -> 'j***@example.com'."""
    if not value:
        return value
    local, at, domain = value.partition("@")
    return f"{local[:1]}{MASK}@{domain}" if at else f"{value[:1]}{MASK}"


def mask_phone(value: str) -> str:
    """'+1 (555) 010-1234' -> '***-***-1234'."""
    if not value:
        return value
    digits = re.sub(r"\D", "", value)
    return f"{MASK}-{MASK}-{digits[-4:]}" if len(digits) >= 4 else f"{MASK}-{MASK}-{MASK}"


MASKERS = {"first_name": mask_name, "last_name": mask_name, "email": mask_email, "phone": mask_phone}


def mask_personal(row: dict) -> dict:
    """A copy of ``row`` with every personal field it has masked."""
    return {
        key: MASKERS[key](value) if key in MASKERS and isinstance(value, str) else value for key, value in row.items()
    }
