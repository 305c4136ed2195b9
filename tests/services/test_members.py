"""MemberService's memory of whom it stored: a known member's message costs no write, a changed name is written."""
from __future__ import annotations

from datetime import datetime, timezone

from storage.members import UserInfo

CHAT = -100555
AT = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


async def test_a_member_is_written_once_and_again_when_their_name_changes(pg, monkeypatch):
    members = pg.services.members
    writes: list[UserInfo] = []
    real_seen = members.members.seen

    async def counting_seen(chat_id, user, now, said_at=None):
        writes.append(user)
        return await real_seen(chat_id, user, now, said_at)

    monkeypatch.setattr(members.members, "seen", counting_seen)
    await pg.services.groups.ensure(CHAT, "Tea club", "supergroup")
    ann = UserInfo(4242, "Ann", "ann_t", language_code="en")
    for _ in range(3):
        await members.seen(CHAT, ann, AT)
    assert writes == [ann]  # known with this name: no write
    renamed = UserInfo(4242, "Annie", "ann_t", language_code="en")
    await members.seen(CHAT, renamed, AT)
    await members.seen(CHAT, renamed, AT)
    assert writes == [ann, renamed]
    assert (await members.members.user(4242)).first_name == "Annie"
    await members.seen(CHAT, UserInfo(4242, "Annie", "annie", language_code="en"), AT)  # a new username too
    assert len(writes) == 3 and (await members.members.user(4242)).username == "annie"
