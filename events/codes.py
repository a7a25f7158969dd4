"""Unified social credit code (统一社会信用代码, GB 32100-2015).

Every enterprise stream is keyed by this code, so the ledger must be able to tell a mistyped
code from a real one before it opens a stream for it. The layout is 18 characters:

    position 1       registration authority (登记管理部门代码)
    position 2       organisation type (机构类别代码)
    positions 3-8    area code, GB/T 2260
    positions 9-17   organisation code, GB 11714 (its 9th character is its own check)
    position 18      check character over positions 1-17

Why the rules are split the way they are:

* The position-18 check decides ``valid``. It is what the standard defines for the code as a
  whole and what every national registry enforces for new codes.
* The GB 11714 check inside positions 9-17 is reported separately as ``org_code_ok`` and never
  makes a code invalid. Some codes converted from legacy registrations are
  real, in force and published by 信用中国, yet can fail the inner check. Rejecting them would
  lose real enterprises' histories; flagging them lets an operator review them.
* Unknown registration-authority or organisation-type characters are not errors: the lists of
  those codes grow, and the check character already catches typing mistakes.
* ``check_uscc`` never raises and never normalises its input: the ledger must keep exactly
  what a department sent (a legacy code that fails its check is flagged, not lost), so cleaning
  up whitespace or lower case is the caller's explicit choice (``normalize_uscc``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

#: The 31 characters a USCC may contain, in value order: 0-9 then A-Z without I, O, S, V, Z
#: (dropped because they are easily confused with 1, 0, 5, U and 2).
ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"

_VALUE: Final = {ch: i for i, ch in enumerate(ALPHABET)}

#: Weight of position i (1-based) is 3^(i-1) mod 31.
WEIGHTS: Final = tuple(pow(3, i, 31) for i in range(17))

#: GB 11714 organisation code: 8 body characters over 0-9A-Z (all 26 letters, A=10 … Z=35).
_ORG_ALPHABET: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ORG_VALUE: Final = {ch: i for i, ch in enumerate(_ORG_ALPHABET)}
ORG_WEIGHTS: Final = (3, 7, 9, 10, 5, 8, 4, 2)

USCC_LENGTH: Final = 18


def check_character(first17: str) -> str:
    """Return the check character (position 18) for the first 17 characters of a USCC.

    c = 31 - (sum(value * weight) mod 31), with 31 mapped to 0; the result is ALPHABET[c].

    Raises ValueError if ``first17`` is not 17 characters from ALPHABET: a check character
    computed over garbage would look authoritative, so we refuse instead.
    """
    if len(first17) != 17:
        raise ValueError(f"expected 17 characters, got {len(first17)}")
    total = 0
    for position, (ch, weight) in enumerate(zip(first17, WEIGHTS, strict=True), start=1):
        value = _VALUE.get(ch)
        if value is None:
            raise ValueError(f"character {ch!r} at position {position} is not in the USCC alphabet")
        total += value * weight
    c = 31 - total % 31
    return ALPHABET[0 if c == 31 else c]


def org_code_check(code8: str) -> str:
    """Return the GB 11714 check character for the 8-character body of an organisation code.

    c = 11 - (sum(value * weight) mod 11); 10 is written ``X`` and 11 is written ``0``.
    Letters take values A=10 … Z=35 (GB 11714 uses all 26 letters, unlike the USCC).

    Raises ValueError for a body that is not 8 characters over 0-9A-Z.
    """
    if len(code8) != 8:
        raise ValueError(f"expected 8 characters, got {len(code8)}")
    total = 0
    for position, (ch, weight) in enumerate(zip(code8, ORG_WEIGHTS, strict=True), start=1):
        value = _ORG_VALUE.get(ch)
        if value is None:
            raise ValueError(f"character {ch!r} at position {position} is not in 0-9A-Z")
        total += value * weight
    c = 11 - total % 11
    if c == 10:
        return "X"
    if c == 11:
        return "0"
    return str(c)


@dataclass(frozen=True)
class UsccCheck:
    """The outcome of checking one code; kept with the code so a flagged code is never lost.

    code            the code exactly as given
    valid           length, alphabet and position-18 check all pass
    reason          which rule failed first (None when valid)
    expected_check  the check character positions 1-17 call for (None if they cannot be
                    computed, i.e. wrong length or a character outside the alphabet)
    org_code_ok     warning only: positions 9-17 pass the GB 11714 check. False also when it
                    could not be computed (wrong length / bad characters).
    """

    code: str
    valid: bool
    reason: str | None
    expected_check: str | None
    org_code_ok: bool = False


def check_uscc(code: str) -> UsccCheck:
    """Check a unified social credit code; never raises.

    Rules, in the order reported: length 18; every character in ALPHABET (first offending
    position, 1-based); check character. The organisation-code check is a warning field only.
    """
    if len(code) != USCC_LENGTH:
        return UsccCheck(
            code=code,
            valid=False,
            reason=f"长度应为18位，实为{len(code)}位",
            expected_check=None,
            org_code_ok=False,
        )
    for position, ch in enumerate(code, start=1):
        if ch not in _VALUE:
            hint = "（为小写字母，代码应为大写）" if ch.upper() in _VALUE else ""
            return UsccCheck(
                code=code,
                valid=False,
                reason=f"第{position}位字符 {ch!r} 不在代码字符集中{hint}",
                expected_check=None,
                org_code_ok=False,
            )
    expected = check_character(code[:17])
    org_ok = org_code_check(code[8:16]) == code[16]
    if code[17] != expected:
        return UsccCheck(
            code=code,
            valid=False,
            reason=f"校验码应为 {expected}，实为 {code[17]}",
            expected_check=expected,
            org_code_ok=org_ok,
        )
    return UsccCheck(code=code, valid=True, reason=None, expected_check=expected, org_code_ok=org_ok)


def normalize_uscc(raw: str) -> str:
    """Strip surrounding/inner whitespace and upper-case: the usual clean-up of typed codes.

    Kept separate from ``check_uscc`` so that cleaning is a visible decision of the caller
    (e.g. a form handler), never something the ledger does silently to recorded data.
    """
    return "".join(raw.split()).upper()
