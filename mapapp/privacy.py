"""Personal data in free text: phone numbers, resident ID numbers and e-mail addresses masked
for people whose role does not need them (viewers).

Masks follow the usual Chinese 脱敏 practice (mobile 138****5678) and hide more of an ID number
(region and birth date): 11**************1X. Names cannot be found reliably in free text and
are not touched; structured personal fields (grid team members) are withheld by the API instead.
"""
from __future__ import annotations

import re

# boundaries are "no digit or letter next to it", so 15-digit grid codes and dates stay as they are
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{2})\d{14}(\d[0-9Xx])(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9A-Za-z+])(?:\+?86[ -]?)?(1[3-9]\d)[ -]?\d{4}[ -]?(\d{4})(?![0-9A-Za-z])")
_LANDLINE = re.compile(r"(?<![0-9A-Za-z])(0\d{2,3})-\d{3,4}(\d{4})(?![0-9A-Za-z])")
_INTERNATIONAL = re.compile(r"(?<![0-9A-Za-z])\+(\d{1,3})[\d ()-]{6,14}(\d{2})(?![0-9A-Za-z])")
_EMAIL = re.compile(r"(?<![\w.+-])([\w.+-])[\w.+-]*@([\w-]+(?:\.[\w-]+)+)")


def mask(text: str | None) -> str | None:
    """The text with every phone number, 18-digit ID number and e-mail address masked."""
    if not text:
        return text
    text = _ID_NUMBER.sub(lambda m: f"{m[1]}{'*' * 14}{m[2]}", text)
    text = _MOBILE.sub(lambda m: f"{m[1]}****{m[2]}", text)
    text = _LANDLINE.sub(lambda m: f"{m[1]}-****{m[2]}", text)
    text = _INTERNATIONAL.sub(lambda m: f"+{m[1]} **** **{m[2]}", text)
    return _EMAIL.sub(lambda m: f"{m[1]}***@{m[2]}", text)
