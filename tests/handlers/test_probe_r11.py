from datetime import datetime, timezone
from tests.helpers import say
UTC = timezone.utc

async def test_probe(pg, group):
    pg.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    o, a = group.owner, group.alice
    for who, t in [(o, "/schedule once 2026-12-24 18:00 from 2026-12-20 post x"), (o, "/schedule daily 09:00 from 2026-11-01 post x"),
                   (o, "/schedule every 2h post hydrate"), (o, "/pause 1"), (o, "/pause 1"), (o, "/runnow 1"), (o, "/resume 1"), (o, "/resume 1"),
                   (o, "/schedule show 1"), (o, "/schedule missed 1 never"), (o, "/schedule missed 1"),
                   (o, "/schedule monthly 31 10:00 post x"), (o, "/schedule every 1d 25:00 post x"), (o, "/schedule every 3d 10:00 post x"),
                   (o, "/schedule campaign"), (o, "/schedule daily 10:00 campaign 2x post"), (o, "/schedule daily 10:00 campaign 11x 2h x"),
                   (o, "/schedule daily 10:00 quiz What?"), (o, "/schedule daily 10:00 poll What?\nA"), (o, "/schedule daily 10:00 topic"),
                   (o, "/schedule daily 10:00 nps now"), (o, "/schedule daily 10:00 report group extra"),
                   (a, "/feedback"), (a, "/feedback More tea!"), (a, "/suggestions"), (o, "/feedbacks"), (o, "/fb accept 9"), (o, "/fb accept 1 abc"),
                   (o, "/fb accept 1 20"), (o, "/fb accept 1 20"), (o, "/fb reject 1 no"), (o, "/fb"), (o, "/fb foo 1"), (a, "/fb accept 1"),
                   (a, "/birthday 13"), (a, "/birthday abc"), (a, "/birthday"), (a, "/birthday 5"), (a, "/birthday off"),
                   (o, "/nightmode 25:00-07:00"), (o, "/nightmode"), (o, "/nightmode 23:00-23:00"),
                   (o, "/set quiet_hours 22-08"), (o, "/set push_daily_cap -1"), (o, "/set push_daily_cap 0"), (a, "/optout foo"), (a, "/optout"),
                   (o, "/pushlog"), (o, "/topics add"), (o, "/topics del 5"), (o, "/topics"), (o, "/schedules")]:
        print(repr(t), "->", repr(await say(pg, who, t, group.chat)))
    await say(pg, o, "/lang zh", group.chat)
    for who, t in [(o, "/schedules"), (o, "/pushlog"), (o, "/schedule show 1"), (o, "/schedule daily 25:00 post x"), (a, "/feedback 更多茶"), (o, "/feedbacks all")]:
        print(repr(t), "->", repr(await say(pg, who, t, group.chat)))
