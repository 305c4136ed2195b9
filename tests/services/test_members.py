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


def test_the_memory_of_whom_it_stored_is_bounded_and_keeps_what_is_in_use():
    from bot.services.activity import member_key
    from bot.services.members import _Lru

    lru = _Lru(10)
    for k in range(5):
        lru.put(k, k)
    for k in range(5, 9):
        lru.put(k, k)
        assert lru.get(0) == 0  # in use: kept however many others are written
    for k in range(9, 100):
        lru.put(k, k)
        assert len(lru) <= 10
    assert 1 not in lru and lru.get(1) is None and lru.get(99) == 99  # the oldest went, the newest stays
    assert lru.pop(99) == 99 and 99 not in lru and lru.pop(99, "gone") == "gone"
    try:
        lru[99]
    except KeyError:
        pass
    else:
        raise AssertionError("a key that went is not there")
    # one key per (chat, user), none shared: negative, zero (private), the largest ids, a user id that is not one
    ids = [(c, u) for c in (-1001000000001, -1001000000002, -5, 0, 1) for u in (1, 2, 2**52, -7, 0, 2**60)]
    assert len({member_key(c, u) for c, u in ids}) == len(ids)
