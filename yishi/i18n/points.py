"""Texts of points, volunteers and appraisals that the CLI and the pages share: volunteer hours (whole hours and
minutes with the exact fraction beside them, never a rounded decimal), appraisal scores (the exact fraction and two
decimals on the side of the threshold it lies), and the reasons of a red/black list entry, worded from the figures
and thresholds the published list records."""

from __future__ import annotations

from fractions import Fraction

from domain.company_events import ListEntry, ListThresholds
from domain.numbers import percent_digits
from yishi.i18n.core import Translator


def hours_text(tr: Translator, minutes: int) -> str:
    """``minutes`` as hours and minutes with the exact hours (``Fraction(minutes, 60)``) beside them."""
    whole, rest = divmod(minutes, 60)
    exact = Fraction(minutes, 60)
    shown = tr.number(exact.numerator) if exact.denominator == 1 else tr.ratio(exact)
    return tr.gettext("%(hours)s h %(minutes)s min (%(exact)s h)", hours=whole, minutes=str(rest).zfill(2), exact=shown)


def score_digits(score: Fraction | None) -> str:
    """A score out of 100 with two decimals (the exact figure rounded only for reading; ``—`` for none)."""
    return "—" if score is None else percent_digits(score / 100, places=2)


def exact(value: Fraction | None) -> str:
    """``"1747/20 ≈ 87.35"``: the exact fraction and its two-decimal reading."""
    if value is None:
        return "—"
    if value.denominator == 1:
        return str(value.numerator)
    return f"{value.numerator}/{value.denominator} ≈ {score_digits(value)}"


def list_reasons(tr: Translator, entry: ListEntry, thresholds: ListThresholds) -> list[str]:
    """Why ``entry`` is on its list, from its recorded figures and the thresholds the list used."""
    tickets = len(entry.tickets)
    reasons = []
    if entry.list == "black":
        if entry.score is not None and entry.score < thresholds.black_below_score:
            reasons.append(tr.gettext("score %(score)s, below %(limit)s", score=score_digits(entry.score),
                                      limit=thresholds.black_below_score))
        if tickets >= thresholds.black_min_tickets:
            reasons.append(tr.gettext("%(count)s attributed tickets, at least %(limit)s", count=tickets,
                                      limit=thresholds.black_min_tickets))
    elif entry.list == "red":
        reasons.append(tr.gettext("score %(score)s, at least %(limit)s", score=score_digits(entry.score),
                                  limit=thresholds.red_min_score))
        reasons.append(tr.gettext("%(count)s attributed tickets, at most %(limit)s", count=tickets,
                                  limit=thresholds.red_max_tickets))
    return reasons


def black_list_flag(tr: Translator, candidate_id: str, candidate: dict[str, object], flag: dict[str, object]) -> str:
    """The warning beside a property-replacement candidate on a street's latest black list (shown, never refused)."""
    if flag.get("score") is not None:
        return tr.gettext("Candidate %(id)s (%(name)s, %(code)s) is on the black list street %(street)s published for "
                          "%(period)s: score %(score)s, %(tickets)s attributed tickets. The owners decide; this is "
                          "for their information.", id=candidate_id, name=candidate.get("name"),
                          code=candidate.get("credit_code"), street=flag["street"], period=flag["period"],
                          score=flag["score"], tickets=flag["tickets"])
    return tr.gettext("Candidate %(id)s (%(name)s, %(code)s) is on the black list street %(street)s published for "
                      "%(period)s: %(tickets)s attributed tickets, no appraisal score. The owners decide; this is for "
                      "their information.", id=candidate_id, name=candidate.get("name"),
                      code=candidate.get("credit_code"), street=flag["street"], period=flag["period"],
                      tickets=flag["tickets"])
