"""A delivery's failure in plain words for the committee: what went wrong and what to do, from the sender's
error (activities/senders.py; secrets already masked). The raw error is shown beside it for the operator."""

from __future__ import annotations

from yishi import i18n
from yishi.i18n import N_

# (what the error contains, the plain words): the first match wins.
_REASONS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("no secret for",), N_("The channel's secret (the robot's key or the AccessKey) is not saved: type it into "
                            "the channel's form in Notice channels and save.")),
    (("errcode 45009", "errcode 130101", "BUSINESS_LIMIT_CONTROL", "Throttling", "DAY_LIMIT", "MONTH_LIMIT",
      "HTTP 429"),
     N_("The service says too many messages were sent: it is sent again automatically in a minute.")),
    (("errcode 93000", "errcode 300001", "errcode 310000", "errcode 40008", "InvalidAccessKeyId",
      "SignatureDoesNotMatch", "invalid webhook", "token is not exist", "HTTP 401", "HTTP 403"),
     N_("The service refused the key: check the robot's key (or the AccessKey) in the group's settings, type it "
        "again in Notice channels and save.")),
    (("SMS_TEMPLATE", "SMS_SIGNATURE", "no approved template"),
     N_("The text-message template or signature is not approved or not set: check the template code and the "
        "signature with the SMS provider.")),
    (("MOBILE_NUMBER_ILLEGAL",), N_("A phone number on the roll is not valid: correct it in the roll.")),
    (("no phone number",), N_("Type a phone number to send the test message to.")),
    (("SMTPAuthentication",), N_("The mail server refused the user name or password (YISHI_NOTICE_SMTP_USER and "
                                 "YISHI_NOTICE_SMTP_PASSWORD): ask the operator.")),
    (("e-mail needs",), N_("E-mail is not set up: the operator sets the mail server (YISHI_NOTICE_SMTP_HOST), "
                           "and the channel needs addresses.")),
    (("no webhook URL",), N_("The webhook has no address: type it into the channel's form and save.")),
    (("was removed",), N_("The channel was removed after this notice was queued: nothing more is sent on it.")),
    (("ConnectError", "ConnectTimeout", "ReadTimeout", "timed out", "Connection refused", "gaierror"),
     N_("The service could not be reached (network or address). It is tried again automatically; if this "
        "stays, ask the operator to check the server's network.")),
    (("HTTP 5",), N_("The service had an internal error: it is tried again automatically.")),
)


def plain_failure(tr: i18n.Translator, error: str) -> str:
    """The failure ``error`` in the reader's words (a general sentence when it is none of the known ones)."""
    for needles, words in _REASONS:
        if any(needle in error for needle in needles):
            return tr.gettext(words)
    return tr.gettext("Sending failed; the service answered as shown below. Ask the operator if it is unclear.")
