"""A scheduled post whose content is a photo with its caption, through the real Application: an admin replies
/schedule … post to a photo someone sent; each run posts that photo again (by its file_id: the same photo) with
the caption as it was formatted, or with the text the admin gave; a caption Telegram would refuse is refused at
once; English and Chinese."""
from datetime import datetime, timezone

from tests.handlers.test_schedule_commands import bot_posts, tick
from tests.helpers import say

UTC = timezone.utc


async def test_a_replied_to_photo_is_posted_with_its_formatted_caption_or_the_admins_text(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    photo = pg.sim.send_media(group.alice, "photo", group.chat, "Tea at dawn", width=1600, height=1200,
                              caption_entities=[{"type": "bold", "offset": 0, "length": 3}])
    await pg.settle()
    assert await say(pg, group.admin, "/schedule daily 09:00 post", group.chat, reply_to=photo) == (
        "Schedule #1 saved: daily 09:00 · post. Next run: 2026-12-01 09:00 (UTC).")
    await say(pg, group.admin, "/schedule daily 10:00 post Our <i>morning</i> cup", group.chat, reply_to=photo)
    assert "A photo with its caption." in await say(pg, group.admin, "/schedule show 1", group.chat)
    pg.clock.set(datetime(2026, 12, 1, 9, 0, 2, tzinfo=UTC))
    await tick(pg)
    pg.clock.set(datetime(2026, 12, 1, 10, 0, 2, tzinfo=UTC))
    await tick(pg)
    first, second = bot_posts(pg, group.chat)[-2:]
    assert first["photo"] == photo["photo"] and second["photo"] == photo["photo"]  # the very photo Alice sent
    assert first["caption"] == "Tea at dawn"
    assert first["caption_entities"] == [{"type": "bold", "offset": 0, "length": 3}]
    assert second["caption"] == "Our <i>morning</i> cup"  # typed as text, so shown as typed


async def test_a_caption_telegram_would_refuse_is_refused_when_scheduling(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    photo = pg.sim.send_media(group.alice, "photo", group.chat)
    await pg.settle()
    assert await say(pg, group.admin, "/schedule daily 09:00 post " + "x" * 1100, group.chat, reply_to=photo) == (
        "A photo's caption is at most 1024 characters; this one has 1100.")
    assert await pg.services.schedules.list(group.chat.id) == []
    assert await say(pg, group.admin, "/schedule daily 09:00 post", group.chat) == (
        "Nothing to post: write the text after post, or reply to a photo.")


async def test_photo_schedule_in_chinese(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    await say(pg, group.owner, "/lang zh", group.chat)
    photo = pg.sim.send_media(group.alice, "photo", group.chat, "清晨的茶")
    await pg.settle()
    await say(pg, group.admin, "/schedule daily 09:00 post", group.chat, reply_to=photo)
    assert "一张图片及其说明。" in await say(pg, group.admin, "/schedule show 1", group.chat)
    assert await say(pg, group.admin, "/schedule daily 09:00 post " + "茶" * 1030, group.chat, reply_to=photo) == (
        "图片的说明文字最多 1024 个字符，这条有 1030 个。")
    pg.clock.set(datetime(2026, 12, 1, 9, 0, 2, tzinfo=UTC))
    await tick(pg)
    [post] = bot_posts(pg, group.chat)[-1:]
    assert post["photo"] == photo["photo"] and post["caption"] == "清晨的茶"
