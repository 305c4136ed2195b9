from bot.texts.commands import EXAMPLES, USAGE
from bot.texts import translator
from handlers.base import spec_of

async def test_probe(pg, group):
    _ = translator("en")
    for c in pg.app.bot_data.commands:
        s = spec_of(c)
        u = _(USAGE[s.name]) if s.name in USAGE else "/" + s.name
        if s.name not in EXAMPLES:
            print(f"NOEX {s.name}: usage {u!r}")
