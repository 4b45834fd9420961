"""Tracking numbers a resident can read out over the phone: ``EO-7K3M-9QPD``.

Eight random characters in two groups of four, from an alphabet without look-alikes: neither member
of the pairs 0/O, 1/I/L and U/V is used, so a code never asks "nol or O?". 29 symbols ** 8 is about
5 * 10**11 codes; the column is unique, so the rare collision fails the insert rather than merging.
"""
from __future__ import annotations

import re
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"
PREFIX = "EO"
GROUP = 4
LENGTH = 2 * GROUP  # random characters; "EO-XXXX-XXXX" is 12, the size of the column

# Characters a person may type by mistake for one they saw. A typed character that is not in the
# alphabet is replaced by the member of its group that is; if no member (or more than one) is in
# the alphabet, the input is not a tracking number. With the alphabet above no group has a member,
# so 0, O, 1, I, L, U and V are simply refused (the code never contains them).
_LOOKALIKE_GROUPS = ("0O", "1IL", "UV")


def _lookalikes() -> dict[str, str]:
    mapping: dict[str, str] = {}
    for group in _LOOKALIKE_GROUPS:
        members = [c for c in group if c in ALPHABET]
        if len(members) != 1:
            continue
        for c in group:
            if c not in ALPHABET:
                mapping[c] = members[0]
    return mapping


LOOKALIKES = _lookalikes()
_SEPARATORS = re.compile(r"[\s\-_.·/]+")


def format_tracking_no(code: str) -> str:
    """The eight characters as printed: ``EO-XXXX-XXXX``."""
    return f"{PREFIX}-{code[:GROUP]}-{code[GROUP:]}"


def new_tracking_no() -> str:
    return format_tracking_no("".join(secrets.choice(ALPHABET) for _ in range(LENGTH)))


def normalise_tracking_no(text: str | None) -> str | None:
    """What a resident typed → ``EO-XXXX-XXXX``, or None when it cannot be a tracking number.

    Accepts lower case, spaces, missing or extra dashes, and a missing ``EO`` prefix (also ``E0``).
    """
    if not text:
        return None
    compact = _SEPARATORS.sub("", text).upper()
    if len(compact) == LENGTH + len(PREFIX) and compact[0] == "E" and compact[1] in "O0":
        compact = compact[len(PREFIX):]
    if len(compact) != LENGTH:
        return None
    chars = []
    for c in compact:
        c = c if c in ALPHABET else LOOKALIKES.get(c, "")
        if not c:
            return None
        chars.append(c)
    return format_tracking_no("".join(chars))
