"""The console's progress page shows the result by the ballots cast and, with silent-owner deeming on, the deemed
tally and which one decides (docs/rules.md, *Silent owners*), while voting runs and once sealed."""

from __future__ import annotations

from yishi.services.voting import cast_ballot, load_box


async def test_progress_shows_both_tallies_and_which_decides(sign_in, store, open_deliberation, seal) -> None:
    d = await open_deliberation(8, deem_silent=True, rule_id="cc278-special")
    now = (await load_box(store, d.id)).opened.opens_at
    for n, owner in enumerate(d.owners[:3]):
        await cast_ballot(store, d.id, owner, "for", idempotency_key=f"k{n}", now=now)
    committee = await sign_in("committee")
    page = (await committee.get(f"/console/d/{d.id}")).text
    assert "实际投票结果：参与表决未达法定比例，表决无效" in page and "以上为当前计数" in page
    assert "未参与表决的 5 户视为随多数意见（同意）" in page
    assert "视为随多数后：同意 8 户" in page and "以视为随多数后的计票为准：通过" in page
    await seal(d.id, reason="deadline-test")
    sealed = (await committee.get(f"/console/d/{d.id}?lang=en")).text
    assert "Result of the ballots cast: no quorum" in sealed and "the count so far" not in sealed
    assert "With silent owners deemed: for 8 owners" in sealed and "The deemed tally decides: approved" in sealed


async def test_deeming_off_shows_the_ballots_cast_only(sign_in, store, open_deliberation) -> None:
    d = await open_deliberation(4)
    page = (await (await sign_in("committee")).get(f"/console/d/{d.id}")).text
    assert "实际投票结果：" in page and "视为随多数后" not in page
