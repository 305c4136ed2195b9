"""The console as a simulated Telegram (issue 13), scripted through a stdin that is not a terminal: a captcha
times out after `wait`, a referral confirms after `wait 1d`, a purchase is confirmed by `press` (the question's
final text shown), private chat works, and library messages stay out of the transcript."""
from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone

from bot.clock import FixedClock
from bot.config import Config
from bot.console import HELP, Session, parse_span, run_console
from bot.playground import Playground

START = datetime(2026, 5, 4, 9, 0, tzinfo=timezone.utc)


class Typist(io.TextIOBase):
    """stdin that is not a terminal and types each line after reading what the console printed so far (a
    person would read the invite link or the emoji to press before typing)."""

    def __init__(self, out: io.StringIO, steps) -> None:
        self.out, self.steps = out, iter(steps)

    def isatty(self) -> bool:
        return False

    def readline(self) -> str:
        step = next(self.steps, None)
        if step is None:
            return ""
        return (step(self.out.getvalue()) if callable(step) else step) + "\n"


def alice_link(shown: str) -> str:
    return re.findall(r"\[alice ⇄ Sticky\]\s+(https://t\.me/\+\S+)", shown)[-1]


def emoji_for(name: str):
    def press(shown: str) -> str:
        emoji = re.findall(rf"{name}, welcome to Console Group! Before you can write, press (\S+) within", shown)[-1]
        return f"{name.lower()} press {emoji}"
    return press


async def test_a_scripted_console_session_runs_timed_work_buttons_and_private_chat(tmp_path):
    out = io.StringIO()
    steps = [
        "alice: hello",
        "alice dm: /start",
        "owner: /set screening on",
        "alice: /invite",
        lambda shown: f"join erin via {alice_link(shown)}",
        emoji_for("Erin"),
        "erin: hi all, thanks Alice!",
        lambda shown: f"join dave via {alice_link(shown)}",
        "wait 3m",                                   # dave never answers: the check times out
        "wait 1d",                                   # erin stayed a day: alice's referral is confirmed
        "owner: /additem Tea mug | 30",
        "owner: /give @alice 100 welcome",
        "alice: /shop",
        "alice press Tea mug",
        "alice press Confirm",
        "help",
    ]
    assert await run_console(Config(), Typist(out, steps), out, start=START) == 0
    text = out.getvalue()
    lines = text.splitlines()
    assert lines[0] == "· the simulated clock starts at 2026-05-04 09:00 UTC; `wait 10m` moves it. `help` lists the verbs."
    # Private chat, shown as such.
    assert any(l.startswith("[alice ⇄ Sticky] Sticky → alice: Hi! I'm Sticky.") for l in lines)
    # The captcha times out during `wait 3m`, at its own time, and the clock says where it went.
    waited = lines.index("· the clock moved 2026-05-04 09:00 → 2026-05-04 09:03 UTC")
    # Removed, and able to come back: a ban set to end by itself (5 minutes), lifted at once.
    assert any(l.startswith("· Sticky banned dave (until 09:0") for l in lines[:waited]), "\n".join(lines[:waited])
    assert "· Sticky unbanned dave" in lines[:waited]
    # The referral confirms after `wait 1d`: alice hears it in private.
    day = lines.index("· the clock moved 2026-05-04 09:03 → 2026-05-05 09:03 UTC")
    assert "· Sticky lifted the restrictions on erin" in lines[:waited]
    assert any(l.startswith("[alice ⇄ Sticky]") and "Erin" in l for l in lines[waited:day]), "\n".join(lines[waited:day])
    # The purchase: the presses are printed, and the question's final text replaces it.
    assert "· alice pressed '🛒 #1 Tea mug · 30'" in lines
    assert "· alice pressed '✅ Confirm'" in lines
    assert any(l.startswith("✎ Sticky") and "Tea mug" in l and "order #1" in l.lower() for l in lines), text[-1500:]
    # `help` lists the verbs; library messages went to a file named at the end.
    assert "  alice press Confirm            alice presses the button whose label contains \"Confirm\" on the latest message that has one" in lines
    assert '`owner` owns the group "Console Group"; `admin` is its Telegram admin; Sticky is @StickyTestBot (/foo@StickyTestBot addresses it).' in lines
    assert re.fullmatch(r"· library messages were written to \S+\.log", lines[-1])
    assert "WARNING" not in text and "apscheduler" not in text.lower()


def test_durations():
    assert parse_span("10m") == timedelta(minutes=10)
    assert parse_span("1h30m") == timedelta(hours=1, minutes=30)
    assert parse_span("1d") == timedelta(days=1)


async def test_wait_runs_each_due_job_once_in_order_at_its_own_time(tmp_path):
    pg = Playground(tmp_path / "w.db", drive_jobs=True)
    await pg.start()
    try:
        seen = []
        queue = pg.app.job_queue

        async def note(context) -> None:
            seen.append((context.job.name, pg.clock.now()))

        t0 = pg.clock.now()
        queue.run_once(note, 120, name="late")
        queue.run_once(note, 30, name="early")
        queue.run_repeating(note, 50, first=10, name="every")
        assert await pg.wait(timedelta(seconds=100)) >= 4
        ours = [(n, (t - t0).total_seconds()) for n, t in seen]
        assert ours == [("every", 10), ("early", 30), ("every", 60)]
        assert pg.clock.now() == t0 + timedelta(seconds=100)
        await pg.wait(timedelta(seconds=30))
        assert [(n, (t - t0).total_seconds()) for n, t in seen][3:] == [("every", 110), ("late", 120)]
    finally:
        await pg.stop()


def shown_after(shown: str, marker: str) -> str:
    return shown[shown.rindex(marker):]


async def test_press_takes_the_latest_message_with_that_button(monkeypatch):
    """Dave's and Erin's checks both offer the emoji Erin must press: her press lands on her own (the latest)
    check, though both were sent at the same simulated time."""
    from types import SimpleNamespace

    import bot.services.funnel as funnel
    monkeypatch.setattr(funnel, "secrets", SimpleNamespace(randbits=lambda n: 2))  # challenges where that happens
    out = io.StringIO()

    def erin_presses_an_emoji_on_both_keyboards(shown: str) -> str:
        keyboards = re.findall(r"\[buttons: (.+)\]", shown)[-2:]
        answer = re.findall(r"Erin, welcome to Console Group! Before you can write, press (\S+) within", shown)[-1]
        assert all(answer in k for k in keyboards), keyboards  # the case in question: the emoji is on both
        return f"erin press {answer}"

    steps = ["owner: /set screening on", "join dave", "join erin", erin_presses_an_emoji_on_both_keyboards]
    assert await run_console(Config(), Typist(out, steps), out, start=START) == 0
    lines = out.getvalue().splitlines()
    assert "· Sticky lifted the restrictions on erin" in lines, "\n".join(lines)
    assert not any("not for you" in l for l in lines)
    assert "· Sticky lifted the restrictions on dave" not in lines


async def test_a_press_or_a_leave_is_printed_before_what_it_changed():
    out = io.StringIO()
    steps = [
        "owner: /set screening on",
        "join dave",
        "leave dave",                   # Sticky deletes Dave's check once he left
        "owner: /set screening off",
        "alice: hello",
        "owner: /additem Tea mug | 30",
        "owner: /give @alice 100 welcome",
        "alice: /shop",
        "alice press Tea mug",
        "alice press Confirm",          # the question is edited into the order notice
    ]
    assert await run_console(Config(), Typist(out, steps), out, start=START) == 0
    lines = out.getvalue().splitlines()
    left = lines.index("· dave left")
    deleted = next(i for i, l in enumerate(lines) if l.startswith("Sticky: Dave, welcome") and l.endswith("[deleted]"))
    assert left < deleted, "\n".join(lines)
    pressed = lines.index("· alice pressed '✅ Confirm'")
    edited = next(i for i, l in enumerate(lines) if l.startswith("✎ Sticky") and "order #1" in l.lower())
    assert pressed < edited


async def test_private_start_and_connect_then_leave_promote_demote():
    """The issue's acceptance: a private /start and /connect driven through the console; and the member verbs."""
    out = io.StringIO()
    steps = [
        "admin dm: /start",
        "admin dm: /connect",
        "admin press Console Group",
        "bob: hello",
        "admin dm: /warn @bob spam",     # typed in private, acts on the connected group
        "admin dm: /disconnect",
        "promote bob",
        "bob: /warn @carol",             # carol is unknown here; bob may now use admin commands
        "demote bob",
        "bob: /warns @bob",
        "leave bob",
    ]
    assert await run_console(Config(), Typist(out, steps), out, start=START) == 0
    lines = out.getvalue().splitlines()
    text = "\n".join(lines)
    private = [l for l in lines if l.startswith("[admin ⇄ Sticky] ")]
    assert private[0] == "[admin ⇄ Sticky] admin: /start"
    assert any(l.startswith("[admin ⇄ Sticky] Sticky → admin: Hi! I'm Sticky.") for l in private), text
    assert "[admin ⇄ Sticky] · admin pressed 'Console Group'" in lines, text
    assert any("Console Group" in l and "connected" in l.lower() for l in private), text
    assert any("Bob has been warned (1/" in l for l in lines), text
    assert any("disconnected" in l.lower() for l in private), text
    assert "· owner promoted bob" in lines and "· owner demoted bob" in lines and "· bob left" in lines
    assert lines.index("· owner promoted bob") < lines.index("· owner demoted bob") < lines.index("· bob left")


async def test_the_clock_is_stated_first_and_promoting_a_non_member_changes_nothing():
    """Telegram promotes members only (promoteChatMember refuses anyone else): `promote zed` for a name not in the
    group says so, and neither joins him nor — with screening on — sends him a check."""
    out = io.StringIO()
    steps = ["owner: /set screening on", "promote zed", "zed dm: /start", "bob: hi", "leave bob", "promote bob"]
    assert await run_console(Config(), Typist(out, steps), out, start=START) == 0
    lines = out.getvalue().splitlines()
    assert lines[0] == "· the simulated clock starts at 2026-05-04 09:00 UTC; `wait 10m` moves it. `help` lists the verbs."
    assert "· zed isn't in Console Group: nothing changed (`join zed` first, then promote)" in lines
    assert not any("zed joined" in l or "restricted zed" in l or "Zed, welcome" in l or "promoted zed" in l for l in lines)
    # Someone who left (restricted by his check, so Telegram still lists him as restricted) is not a member either.
    assert lines[-2] == "· bob isn't in Console Group: nothing changed (`join bob` first, then promote)"
    assert "· owner promoted bob" not in lines


async def test_a_reply_goes_to_stickys_last_message_and_a_reply_to_nobody_is_not_sent():
    """`bob -> sticky:` replies to Sticky's latest group message (a /report or /del is done that way); a reply to
    a name with no message here is not silently sent as a plain message; nobody types as Sticky; a `wait` too
    long for the clock says so in words."""
    out = io.StringIO()
    steps = [
        "alice: hello",                  # Sticky welcomes her: its latest group message
        "admin -> sticky: /del",         # deletes Sticky's welcome, as a reply in Telegram would
        "bob -> zed: hi",                # zed never wrote: nothing to reply to
        "sticky: I am the bot",
        "wait 99999999999d",
    ]
    assert await run_console(Config(), Typist(out, steps), out, start=START) == 0
    lines = out.getvalue().splitlines()
    text = "\n".join(lines)
    assert any(l.startswith("Sticky: Welcome to Console Group, Alice!") and l.endswith("[deleted]") for l in lines), text
    assert any(l.startswith("admin → Sticky: /del") for l in lines), text
    assert "· zed has no message in Console Group to reply to: nothing was sent" in lines, text
    assert "bob: hi" not in lines and "· bob joined" not in lines
    assert "· Sticky is the bot and answers by itself: write as a person (alice: hello)" in lines, text
    assert not any("I am the bot" in l for l in lines[1:])
    assert "· wait moves the clock by at most 366 days (1h30m, 2d…)" in lines, text
    assert "int too large" not in text


async def test_pressing_a_link_button_to_sticky_opens_the_private_chat_with_its_start():
    """The private question's "Answer privately" is a link to Sticky (t.me/Bot?start=…): `dave press answer` said
    there was no such button. Telegram opens the private chat, and Start sends /start with the link's payload."""
    out = io.StringIO()
    steps = [
        "owner: /set screening on",
        "owner: /setcaptcha Which tea is green? | longjing",
        "owner: /set captcha_mode question",
        "join dave",
        "dave press answer",
        "dave dm: longjing",
    ]
    assert await run_console(Config(), Typist(out, steps), out, start=START) == 0
    lines = out.getvalue().splitlines()
    text = "\n".join(lines)
    assert "· dave opened the link 'Answer privately'" in lines, text
    assert any(l.startswith("[dave ⇄ Sticky] dave: /start ") for l in lines), text
    assert any(l.startswith("[dave ⇄ Sticky]") and "Which tea is green?" in l for l in lines), text
    assert "· Sticky lifted the restrictions on dave" in lines
    assert not any("no button labelled" in l for l in lines)


async def test_wait_a_day_jumps_to_each_due_thing_and_runs_it_in_order_at_its_own_time(tmp_path):
    """`wait 1d` jumps from one due thing to the next instead of running every empty tick of the day: the captcha
    times out at its deadline, the daily post goes out at the first schedules tick after 09:30 (ticks every 10 s
    from the start, 09:00:03 — as stepping through them would have found it), each once, in that order, and the
    next day's post at the same tick a day later."""
    start = datetime(2026, 5, 4, 9, 0, 3, tzinfo=timezone.utc)
    out = io.StringIO()
    async with Playground(tmp_path / "c.db", Config(), FixedClock(start), drive_jobs=True) as pg:
        session = Session(pg, out)
        await session.open()
        ticks = []
        wait = pg.wait

        async def counted(span, on_step=None):
            def step(job):
                ticks.append(job.name)
                on_step(job)
            return await wait(span, on_step=step)

        pg.wait = counted
        for line in ["owner: /schedule daily 09:30 post Good morning", "owner: /set screening on", "join dave", "wait 1d"]:
            await session.handle(line)
        lines = out.getvalue().splitlines()
        posts = [m for m in pg.sim.messages(session.group) if m.get("text") == "Good morning"]
        assert [m["date"] for m in posts] == [int((start + timedelta(minutes=30)).timestamp())]
        assert lines.count("Sticky: Good morning") == 1
        banned = next(i for i, l in enumerate(lines) if l.startswith("· Sticky banned dave (until "))
        assert banned < lines.index("Sticky: Good morning") < lines.index(
            "· the clock moved 2026-05-04 09:00 → 2026-05-05 09:00 UTC")
        # A day of 10-second ticks is 8,640 of them, and as many night-mode looks: those with nothing to do are not run.
        assert ticks.count("schedules:tick") <= 3 and "nightmode:tick" not in ticks
        # Likewise the WAL checkpoint (every 5 s) and the counters' flush: each runs only when it has work.
        assert ticks.count("db:checkpoint") <= 10 and ticks.count("counters:flush") <= 10, sorted(set(ticks))
        await session.handle("wait 1d")
        posts = [m for m in pg.sim.messages(session.group) if m.get("text") == "Good morning"]
        assert [m["date"] for m in posts] == [int((start + timedelta(minutes=30, days=d)).timestamp()) for d in (0, 1)]


async def test_demote_sticky_takes_its_rights_through_telegram_and_it_says_what_it_lacks():
    """`demote sticky` is the owner taking Sticky's admin rights in the group's settings: Telegram tells it
    (my_chat_member) and Sticky then answers with the right it lacks; `promote sticky RIGHT…` gives back only those
    named, `promote sticky` the usual ones; a right that does not exist is named as such."""
    out = io.StringIO()
    steps = [
        "bob: hello",
        "demote sticky",
        "admin: /mute @bob 10m",
        "owner: /set screening on",
        "admin -> bob: /del",
        "promote sticky delete_messages",
        "admin: /mute @bob 10m",
        "admin -> bob: /del",
        "promote sticky can_fly",
        "promote bob delete_messages",
        "promote sticky",
        "admin: /mute @bob 10m",
        "leave sticky",
    ]
    assert await run_console(Config(), Typist(out, steps), out, start=START) == 0
    lines = out.getvalue().splitlines()
    text = "\n".join(lines)
    ban = "Sticky → admin: I need the “Ban users” admin right for that. Give it to me in the group's admin settings."
    delete = "Sticky → admin: I need the “Delete messages” admin right for that. Give it to me in the group's admin settings."
    demoted, partly, fully = (lines.index("· owner demoted Sticky"), lines.index("· owner promoted Sticky"),
                              len(lines) - 1 - lines[::-1].index("· owner promoted Sticky"))
    assert lines[demoted + 1:demoted + 3] == ["admin: /mute @bob 10m", ban], text
    assert "  Note: screening needs the “Ban users” admin right, which I don't have here, so it can't work until an admin gives it to me." in lines
    assert delete in lines[demoted:partly]
    # With Delete messages only: /del works, muting still cannot.
    assert partly < fully and lines[partly:fully].count(ban) == 1 and delete not in lines[partly:fully]
    assert "· Sticky deleted a message from bob" in lines[partly:fully]
    assert any(l.startswith("· no such admin right: fly (known: delete_messages ") for l in lines), text
    assert "· rights are named for Sticky only (promote sticky delete_messages …); promote bob gives the usual ones" in lines
    assert "· owner promoted bob" not in lines
    assert "· Sticky restricted bob (until 09:10)" in lines[fully:], text
    assert "· Sticky is the bot and answers by itself: write as a person (alice: hello)" in lines[fully:]


async def test_an_admin_manages_the_group_from_private_chat_in_one_console_session():
    """One session, as a new admin would try it: in private, /connect and the group's button; an admin command typed
    there acts on the group (the group sees Bob muted), the private chat shows the command before what it caused
    in the group and the answer after; /disconnect ends it (the next admin command in private points to /connect);
    a member's /connect GROUP is refused with the reason, and his admin command there as in the group."""
    out = io.StringIO()
    steps = [
        "bob: hello",
        "admin dm: /connect",
        "admin press Console Group",
        "admin dm: /mute @bob 10m",
        "admin dm: /disconnect",
        "admin dm: /mute @bob 10m",
        "bob dm: /connect Console Group",
        "bob dm: /mute @admin 10m",
    ]
    assert await run_console(Config(), Typist(out, steps), out, start=START) == 0
    lines = out.getvalue().splitlines()
    text = "\n".join(lines)
    p = "[admin ⇄ Sticky] "
    connected = lines.index(f"{p}✎ Sticky → admin: Connected to Console Group. Admin commands you send me here now act on it,"
                            " with your rights there checked with Telegram each time. /disconnect stops it. (edited)")
    assert lines.index(f"{p}· admin pressed 'Console Group'") < connected, text
    # The private command, then its effect in the group, then the answer in private: in the order they happened.
    typed = lines.index(f"{p}admin: /mute @bob 10m")
    muted = lines.index("· Sticky restricted bob (until 09:10)")
    answer = lines.index(f"{p}Sticky → admin: [Console Group]")
    assert connected < typed < muted < answer, text
    assert lines[answer + 1] == f"{p}  Bob is muted until 2026-05-04 09:10."
    # After /disconnect the same command in private acts on nothing and says how to connect again.
    gone = lines.index(f"{p}Sticky → admin: Disconnected: this private chat no longer manages Console Group.")
    assert lines[gone + 1:gone + 3] == [
        f"{p}admin: /mute @bob 10m",
        f"{p}Sticky → admin: /mute acts on a group: send it there, or pick a group to manage from here with /connect."], text
    assert lines.count("· Sticky restricted bob (until 09:10)") == 1
    # A member cannot connect: told why, and his admin command in private acts on nothing.
    b = "[bob ⇄ Sticky] "
    refused = lines.index(f"{b}bob: /connect Console Group") + 1
    assert lines[refused] == f"{b}Sticky → bob: Telegram says you are not an admin of Console Group, so you can't manage it from here.", text
    assert lines[refused + 2] == f"{b}Sticky → bob: Only Admin and above can use this command.", text
    assert not any("restricted admin" in l for l in lines)


async def test_with_screening_on_a_new_name_meets_the_check_before_its_first_line_and_short_waits_show_seconds():
    """A name's first line joins them; with screening on the line went out in the same instant as the join, before
    Sticky restricted them, so Alice checked in while her check was open. Now the join is handled first, as a
    person sees the check before they can type: the line is refused, and after the press it goes through. A wait
    under a minute said '09:00 → 09:00'."""
    out = io.StringIO()
    steps = ["owner: /set screening on", "alice: /checkin", emoji_for("Alice"), "alice: /checkin", "wait 10s", "wait 2m"]
    assert await run_console(Config(), Typist(out, steps), out, start=START) == 0
    lines = out.getvalue().splitlines()
    text = "\n".join(lines)
    check = next(i for i, l in enumerate(lines) if l.startswith("Sticky: Alice, welcome to Console Group! Before you can write"))
    refused = lines.index("· not possible: alice is restricted in Console Group and can't send messages")
    assert lines.index("· alice joined") < check < refused, text
    checked = [i for i, l in enumerate(lines) if "Alice checked in" in l]
    assert len(checked) == 1 and checked[0] > lines.index("· Sticky lifted the restrictions on alice"), text
    assert "· the clock moved 2026-05-04 09:00:00 → 2026-05-04 09:00:10 UTC" in lines, text
    assert "· the clock moved 2026-05-04 09:00 → 2026-05-04 09:02 UTC" in lines, text


async def test_a_verb_without_its_argument_says_the_form_it_takes_and_does_nothing():
    """`wait`, `wait soon`, `join`, `promote`, `alice press` got the general "? write `name: text`" as if they were no
    verb at all, and `wait 0s` printed the clock moving from 09:00 to 09:00 (found walking the console): each says the
    form it takes, and nothing happens."""
    out = io.StringIO()
    steps = ["wait", "wait soon", "wait -5m", "wait 0s", "join", "join dave via", "leave", "promote", "demote",
             "alice press", "hello there"]
    assert await run_console(Config(), Typist(out, steps), out, start=START) == 0
    lines = out.getvalue().splitlines()
    shown = lines[lines.index("· wait takes a span: s, m, h, d, combined (wait 10s, wait 10m, wait 1h30m, wait 2d)"):-1]
    assert shown == [
        "· wait takes a span: s, m, h, d, combined (wait 10s, wait 10m, wait 1h30m, wait 2d)",
        "· wait takes a span: s, m, h, d, combined (wait 10s, wait 10m, wait 1h30m, wait 2d)",
        "· wait takes a span: s, m, h, d, combined (wait 10s, wait 10m, wait 1h30m, wait 2d)",
        "· wait 0 moves nothing: give a span, such as wait 10s or wait 1h30m",
        "· join takes a name: join dave, or join dave via LINK (an invite link Sticky gave)",
        "· join takes a name: join dave, or join dave via LINK (an invite link Sticky gave)",
        "· leave takes a name: leave bob",
        "· promote takes a name: promote bob (or sticky)",
        "· demote takes a name: demote bob (or sticky)",
        "· press takes a button's label, or part of it: alice press Confirm",
        "? write `name: text`, or `help` for every verb",
    ]


async def test_join_via_the_bot_link_that_invite_prints_opens_the_private_chat_with_its_start():
    """/invite prints two links; `join dave via https://t.me/<bot>?start=ref_…` (the second) answered "no such invite
    link". Following it is what pressing a link button to Sticky does: the private chat opens and Start sends
    /start with the code; Sticky's answer there leads into the group, and the referral is alice's."""
    out = io.StringIO()
    steps = [
        "alice: hello",
        "alice dm: /start",
        "alice: /invite",
        lambda shown: "join dave via " + re.findall(r"Or through me: (https://t\.me/StickyTestBot\?start=\S+)", shown)[-1],
        lambda shown: "join dave via " + re.findall(r"\[dave ⇄ Sticky\] Sticky → dave: .*Join here: (\S+)", shown)[-1],
        "dave: hello, Alice sent me",
        "alice: /invites",
    ]
    assert await run_console(Config(), Typist(out, steps), out, start=START) == 0
    lines = out.getvalue().splitlines()
    text = "\n".join(lines)
    assert not any("no such invite link" in l for l in lines), text
    assert any(re.fullmatch(r"\[dave ⇄ Sticky\] dave: /start ref_\S+", l) for l in lines), text
    assert "· dave joined via link 'Alice #1003'" in lines, text  # alice's link: the referral is hers
    assert "  joined 1 · pending 1 · confirmed 0 · left 0 · not counted 0" in lines, text


async def test_a_name_in_any_script_writes_and_a_line_with_no_name_says_what_a_name_is():
    """`小明: 你好` got the generic "? write `name: text`" (names were [A-Za-z0-9_]): a name is letters of any script,
    digits or _. Such a person has no Telegram username, as in Telegram, so others reach them by reply; a line whose
    name holds anything else says what a name is, and nothing is sent."""
    out = io.StringIO()
    steps = ["小明: 你好", "小明 dm: /start", "owner -> 小明: /give 5 谢谢", "mary-jane: hi", "alice -> bob smith: hi",
             "mary jane dm: hi"]
    assert await run_console(Config(), Typist(out, steps), out, start=START) == 0
    lines = out.getvalue().splitlines()
    text = "\n".join(lines)
    assert "· 小明 joined" in lines and "小明: 你好" in lines, text
    assert any(l.startswith("[小明 ⇄ Sticky] Sticky → 小明: Hi! I'm Sticky.") for l in lines), text
    assert "Sticky → owner: 小明 got +5 points (balance 5)." in lines, text
    rule = "a name is letters of any script, digits or _, up to 32 (alice, 小明, mary_jane)"
    assert lines[-4:-1] == [f"· {rule}: “mary-jane” is not one", f"· {rule}: “bob smith” is not one",
                            f"· {rule}: “mary jane” is not one"], text
    assert not any(n in text for n in ("· mary", "· alice joined", "· bob joined"))
    assert "A name is letters of any script, digits or _ (alice, 小明); one that is not a Telegram username (小明) has none," in HELP


def test_a_console_name_that_telegram_usernames_cannot_hold_is_an_account_without_one():
    from bot.sim import FakeTelegram

    sim = FakeTelegram()
    assert sim.user("小明", with_username=False).to_api() == {"id": sim.user("小明").id, "is_bot": False, "first_name": "小明",
                                                               "language_code": "en"}
    assert sim.user("alice").username == "alice"
