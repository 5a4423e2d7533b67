"""Free text that enters the public log (a checklist's comment, an incident's description): refused when
it carries a phone number or an e-mail address, so that nobody's contact details become public.

Names cannot be recognised reliably; the forms say "no names or phone numbers" in both languages.
"""

from __future__ import annotations

import re

from pollwatch.errors import InputError

_PHONE = re.compile(r"(?:\+|\b)(?:[0-9\u0660-\u0669\u06f0-\u06f9][\s\-().]?){9,}")
"""Nine or more digits (Latin, Arabic-Indic or Urdu), possibly separated by spaces, dashes or dots."""
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]{2,}")


def screen_text(text: str, *, where: str) -> None:
    """Refuse text holding something that looks like a phone number or an e-mail address."""
    found = _PHONE.search(text) or _EMAIL.search(text)
    if found is not None:
        raise InputError(
            "free text is public and may not carry a phone number or an e-mail address; nothing was written",
            where=where,
            expected="a description without contact details",
            found="…" + found.group(0)[-3:],
        )
