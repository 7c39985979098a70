"""统一社会信用代码 (unified social credit identifier, GB 32100-2015): the 18 characters and the check character.

Layout: 1 registration authority (登记管理部门), 1 organisation category (机构类别), 6 administrative division of the
registering authority (GB/T 2260), 9 subject identifier (主体标识码, the GB 11714 organisation code), 1 check
character. The characters are the digits and the capital letters without I, O, S, V, Z (31 characters, valued 0 to
30 in the order of :data:`CHARSET`). The check character is ``C18 = 31 - (Σ Ci × Wi mod 31)`` over the first 17
characters, with weights ``Wi = 3^(i-1) mod 31`` (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28),
and 31 written as 0.

Some codes issued by early pilot registries before the standard (e.g. some of Xiamen's ``…M000…`` codes) do not
satisfy the check although they are legal; the register records such a code only with a stated reason (an
exemption recorded in its event), never silently.
"""

from __future__ import annotations

from domain.errors import N_, DomainError, Text

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
LENGTH = 18


class CreditCodeError(DomainError):
    """Not a valid 统一社会信用代码; the message says which character is wrong and what it should be."""


def normalise(code: str) -> str:
    """Upper case without spaces (codes are printed in groups on some licences)."""
    return "".join(code.split()).upper()


def check_character(first17: str) -> str:
    """The check character of the first 17 characters (already in :data:`CHARSET`)."""
    total = sum(CHARSET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def credit_code_problem(code: str) -> Text | None:
    """Why ``code`` is not a valid code, or None when it is."""
    if len(code) != LENGTH:
        return Text(N_("a unified social credit code has 18 characters, '%(code)s' has %(length)s; check the "
                       "licence"), code=code, length=len(code))
    for position, char in enumerate(code, 1):
        if char not in CHARSET:
            return Text(N_("character %(position)s ('%(char)s') of '%(code)s' is not allowed (I, O, S, V and Z are "
                           "never used); check the licence"), position=position, char=char, code=code)
    expected = check_character(code[:17])
    if code[17] != expected:
        return Text(N_("the check character of '%(code)s' should be '%(expected)s', not '%(found)s'; check the "
                       "licence (usually one character was copied wrong)"), code=code, expected=expected,
                    found=code[17])
    return None


def valid_credit_code(code: str) -> str:
    """``code`` normalised, or :class:`CreditCodeError` saying what is wrong."""
    code = normalise(code)
    problem = credit_code_problem(code)
    if problem is not None:
        raise CreditCodeError(problem)
    return code
