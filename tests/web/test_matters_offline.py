"""An owner's act on a procedure when the web tier has no Temporal (not configured here): 503, try again."""

from __future__ import annotations

from tests.web.conftest import SECRET


async def test_owner_act_answers_try_again_when_temporal_is_away(open_deliberation, client) -> None:
    """No Temporal configured for the web tier: a valid, CSRF-checked act gets 503 'please try again'."""
    from yishi.services.links import token_hash
    from yishi.web.security import form_csrf

    opened = await open_deliberation(2)
    owner = opened.owners[0]
    nonce = "n" * 32
    csrf = form_csrf(SECRET, "share", token_hash(opened.tokens[owner]), nonce)
    response = await client.post(f"{opened.path(owner)}/share", data={"nonce": nonce, "csrf": csrf})
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
