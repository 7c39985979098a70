"""Labels of the codes of points, volunteers and appraisals (issue 20), merged into
:data:`yishi.i18n.labels.LABELS`: kinds of people, rule bases, statuses of redemptions and appraisals, the
red/black list, how someone signed up or checked in."""

from __future__ import annotations


def C_(context: str, msgid: str) -> str:  # noqa: N802 - the gettext marker convention (as in labels.py)
    return msgid


POINTS_LABELS: dict[str, dict[str, str]] = {
    "person_kind": {
        "resident": C_("person_kind", "resident"),
        "party_member": C_("person_kind", "party member of the community"),
        "dual_report": C_("person_kind", "party member reporting from an outside unit"),
    },
    "basis": {  # what a points rule rewards
        "volunteer_hours": C_("basis", "volunteer hours"),
        "meeting_attended": C_("basis", "attending a meeting"),
        "topic_taken_up": C_("basis", "a topic taken up"),
        "party_duty": C_("basis", "a party member household's duty"),
        "vote_participation": C_("basis", "taking part in a vote (never how)"),
        "other": C_("basis", "other"),
    },
    "per": {
        "occasion": C_("per", "per occasion"),
        "hour": C_("per", "per hour"),
    },
    "source_kind": {
        "volunteer_activity": C_("source_kind", "volunteer activity"),
        "meeting": C_("source_kind", "meeting"),
        "topic": C_("source_kind", "topic"),
        "deliberation": C_("source_kind", "vote"),
        "duty": C_("source_kind", "duty"),
        "other": C_("source_kind", "other"),
    },
    "redemption_status": {
        "reserved": C_("redemption_status", "waiting to be collected"),
        "handed_over": C_("redemption_status", "collected"),
        "cancelled": C_("redemption_status", "cancelled"),
    },
    "signup_via": {
        "link": C_("signup_via", "own link"),
        "poster": C_("signup_via", "team poster"),
        "coordinator": C_("signup_via", "by the coordinator"),
        "checkin": C_("signup_via", "at check-in"),
    },
    "scan_via": {
        "qr": C_("scan_via", "own phone"),
        "coordinator": C_("scan_via", "by the coordinator"),
    },
    "appraisal_status": {
        "new": C_("appraisal_status", "not opened"),
        "open": C_("appraisal_status", "open for rating"),
        "closed": C_("appraisal_status", "closed"),
    },
    "owner_weight": {
        "headcount": C_("owner_weight", "each owner counts once"),
        "area": C_("owner_weight", "weighted by each owner's area"),
    },
    "company_list": {
        "red": C_("company_list", "red list"),
        "black": C_("company_list", "black list"),
        "none": C_("company_list", "neither list"),
    },
    "entry_kind": {  # an entry of a person's points statement
        "award": C_("entry_kind", "earned"),
        "deduction": C_("entry_kind", "taken back"),
        "redemption": C_("entry_kind", "spent in the points shop"),
        "refund": C_("entry_kind", "given back (redemption cancelled)"),
    },
    "operator_role": {  # who recorded an event (domain/operator.py)
        "committee": C_("operator_role", "committee"),
        "grid_worker": C_("operator_role", "grid worker"),
        "street_office": C_("operator_role", "street office"),
        "department": C_("operator_role", "district department"),
        "auditor": C_("operator_role", "auditor"),
        "party_member": C_("operator_role", "party member"),
        "clerk": C_("operator_role", "shop clerk"),
        "person": C_("operator_role", "the person, through their own link"),
        "owner": C_("operator_role", "owner, through their own link"),
        "system": C_("operator_role", "the system, automatically"),
    },
    "rating": {  # the 1-5 scale of an appraisal
        "1": C_("rating", "very dissatisfied"),
        "2": C_("rating", "dissatisfied"),
        "3": C_("rating", "neutral"),
        "4": C_("rating", "satisfied"),
        "5": C_("rating", "very satisfied"),
    },
}
