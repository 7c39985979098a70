"""What counts for an owner, in her words and in her proxy's (RULES.md: online over paper, and with
``owner_prevails`` the owner's own ballot over her proxy's; "both see which ballot counts")."""

from __future__ import annotations

from typing import TYPE_CHECKING

from yishi import i18n

if TYPE_CHECKING:
    from yishi.web.voter import Voter


def ballot_status(voter: Voter, lang: str, question_id: str, owner_id: str | None = None,
                  closed: bool = False) -> str | None:
    """The ballot that counts for the owner on this question, in the owner's words: an online ballot prevails over
    a paper one, and (boxes with ``owner_prevails``, RULES.md) her own ballot over her proxy's."""
    owner_id = owner_id or voter.owner_id
    tr = i18n.translator(lang)
    counted = voter.box.state.tally(question_id).counted_ballot(owner_id)
    if counted is None:
        return None
    channel, by_proxy = counted
    prevails = voter.box.opened.owner_prevails
    if channel == "paper":
        choice = voter.box.state.tally(question_id).counted_choice(owner_id)
        text = tr.gettext("Your paper ballot is recorded: %(choice)s. An online ballot takes precedence over paper.",
                          choice=tr.label(choice, "choice"))
    else:
        last = voter.box.last_ballot(owner_id, question_id=question_id, channel="online",
                                     proxied=by_proxy if prevails else None)
        assert last is not None  # the ballot that counts is in the stream
        choice, when = tr.label(last.payload["choice"], "choice"), tr.when(last.occurred_at)
        if by_proxy:
            text = tr.gettext("Your proxy voted for you: %(choice)s (%(when)s).", choice=choice, when=when)
        else:
            text = tr.gettext("You have voted: %(choice)s (%(when)s).", choice=choice, when=when)
        if voter.box.state.tally(question_id).has_paper_ballot(owner_id) and not by_proxy:
            text += tr.gettext("The online ballot prevails: your paper ballot is recorded but does not count; your "
                               "online ballot does.")
    if prevails and by_proxy and not closed:
        text += tr.gettext(" If you vote yourself, your own ballot counts instead.")
    elif prevails and voter.box.last_ballot(owner_id, question_id=question_id, proxied=True) is not None:
        text += tr.gettext(" Your proxy's ballot for you is recorded but does not count: your own ballot prevails.")
    return text


def proxy_status(voter: Voter, lang: str, question_id: str, owner_id: str) -> str | None:
    """What the proxy sees of the owner he represents (RULES.md: "the proxy sees that the owner has voted, and both
    see which ballot counts")."""
    counted = voter.box.state.tally(question_id).counted_ballot(owner_id)
    if counted is None:
        return None
    tr = i18n.translator(lang)
    if counted[1] or not voter.box.opened.owner_prevails:
        choice = tr.label(voter.box.state.tally(question_id).counted_choice(owner_id), "choice")
        return tr.gettext("A ballot for this owner counts: %(choice)s.", choice=choice)
    return tr.gettext("The owner has voted herself; her own ballot counts, and a ballot you cast for her would not "
                      "count.")
