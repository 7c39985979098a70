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

from domain.errors import DomainError

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


def credit_code_problem(code: str) -> tuple[str, str] | None:
    """Why ``code`` is not a valid code, as ``(zh, en)``, or None when it is."""
    if len(code) != LENGTH:
        return (f"统一社会信用代码应为18位，“{code}”有{len(code)}位；请对照营业执照核对",
                f"a unified social credit code has 18 characters, '{code}' has {len(code)}; check the licence")
    for position, char in enumerate(code, 1):
        if char not in CHARSET:
            return (f"统一社会信用代码“{code}”第{position}位“{char}”不是有效字符（不使用 I、O、S、V、Z）；"
                    "请对照营业执照核对",
                    f"character {position} ('{char}') of '{code}' is not allowed (I, O, S, V, Z are never used); "
                    "check the licence")
    expected = check_character(code[:17])
    if code[17] != expected:
        return (f"统一社会信用代码“{code}”的校验位应为“{expected}”，不是“{code[17]}”；"
                "请对照营业执照核对，常见为抄错一位",
                f"the check character of '{code}' should be '{expected}', not '{code[17]}'; check the licence "
                "(usually one character was copied wrong)")
    return None


def valid_credit_code(code: str) -> str:
    """``code`` normalised, or :class:`CreditCodeError` saying what is wrong."""
    code = normalise(code)
    problem = credit_code_problem(code)
    if problem is not None:
        raise CreditCodeError(*problem)
    return code
