"""python-telegram-bot against the simulator, both ways the project uses it: in-process (SimRequest) and over
HTTP (serve_http), including long polling and a real Application answering a command."""
from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from telegram import Bot, ChatPermissions, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Conflict, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application, CommandHandler, ContextTypes
from telegram.request import HTTPXRequest

from bot.sim import FakeTelegram, SimRequest


def in_process_bot(sim: FakeTelegram) -> Bot:
    return Bot(sim.token, request=SimRequest(sim), get_updates_request=SimRequest(sim))


async def test_bot_in_process(sim: FakeTelegram, clock, group, bob) -> None:
    async with in_process_bot(sim) as bot:
        me = await bot.get_me()
        assert (me.id, me.username, me.is_bot) == (sim.bot.id, "StickyTestBot", True)
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("✅ Yes", callback_data="yes")]])
        message = await bot.send_message(group.id, "<b>Hello</b> everyone", parse_mode="HTML", reply_markup=keyboard)
        assert message.text == "Hello everyone" and message.entities[0].type == "bold"
        assert message.reply_markup == keyboard
        until = clock.now() + timedelta(hours=2)
        assert await bot.restrict_chat_member(group.id, bob.id, ChatPermissions(can_send_messages=False),
                                              until_date=until) is True
        member = await bot.get_chat_member(group.id, bob.id)
        assert member.status == "restricted" and member.can_send_messages is False
        assert member.until_date == until.replace(microsecond=0)
        link = await bot.create_chat_invite_link(group.id, name="ref-bob", member_limit=5)
        assert link.name == "ref-bob" and link.member_limit == 5 and link.invite_link.startswith("https://t.me/+")
        assert sim.calls("createChatInviteLink")[-1].params == {"chat_id": group.id, "name": "ref-bob",
                                                                "member_limit": 5}


async def test_refusals_become_ptb_exceptions(sim, group, alice, bob) -> None:
    async with in_process_bot(sim) as bot:
        with pytest.raises(BadRequest, match="Can't remove chat owner"):
            await bot.ban_chat_member(group.id, alice.id)
        with pytest.raises(Forbidden, match="bot can't initiate conversation with a user"):
            await bot.send_message(bob.id, "hi")
        sim.flood("sendMessage", retry_after=11)
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(group.id, "flood")
        assert caught.value.retry_after in (11, timedelta(seconds=11))  # int or timedelta, by PTB setting


async def test_in_process_long_poll_awaits_without_blocking_the_loop(sim, group, bob) -> None:
    async with in_process_bot(sim) as bot:
        await bot.get_updates(allowed_updates=[])
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        async def speak_later() -> None:
            await asyncio.sleep(0.3)
            sim.send(bob, "anyone?", chat=group)

        tick_task = asyncio.create_task(ticker())
        asyncio.create_task(speak_later())
        started = time.monotonic()
        updates = await bot.get_updates(timeout=5)
        tick_task.cancel()
        assert 0.25 < time.monotonic() - started < 2
        assert [u.message.text for u in updates] == ["anyone?"]
        assert ticks > 10  # the event loop kept running while polling


async def test_in_process_long_poll_superseded_raises_conflict(sim) -> None:
    async with in_process_bot(sim) as bot:
        first = asyncio.create_task(bot.get_updates(timeout=5))
        await asyncio.sleep(0.1)
        second = asyncio.create_task(bot.get_updates(timeout=1))
        with pytest.raises(Conflict):
            await first
        assert await second == ()


async def test_application_answers_a_command_in_process(sim, group, bob) -> None:
    async def points(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_message.reply_text(f"{update.effective_user.first_name}: 0 points")

    app = Application.builder().bot(in_process_bot(sim)).build()
    app.add_handler(CommandHandler("points", points))
    async with app:
        await app.updater.start_polling(poll_interval=0, timeout=2, allowed_updates=Update.ALL_TYPES)
        await app.start()
        sim.send(bob, "/points", chat=group)
        for _ in range(200):
            if sim.replies(group):
                break
            await asyncio.sleep(0.01)
        await app.updater.stop()
        await app.stop()
    [reply] = sim.replies(group)
    assert reply["text"] == "Bob: 0 points"
    assert reply["reply_to_message"]["text"] == "/points"
    assert sim.transcript(group)[-1] == "Sticky → bob: Bob: 0 points"


async def test_bot_over_http(sim: FakeTelegram, group, bob) -> None:
    server = sim.serve_http()
    try:
        async with Bot(sim.token, base_url=server.url + "/bot") as bot:
            assert (await bot.get_me()).username == "StickyTestBot"
            sent = await bot.send_message(group.id, "over the wire",
                                          reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]]))
            assert sent.text == "over the wire"
            assert await bot.restrict_chat_member(group.id, bob.id, ChatPermissions(can_send_messages=False)) is True
            assert sim.member(group, bob)["status"] == "restricted"
            photo = await bot.send_document(group.id, b"id,points\n1,10\n", filename="points.csv", caption="export")
            assert photo.document.file_name == "points.csv" and photo.document.file_size == 15
            with pytest.raises(BadRequest, match="Message to be replied not found"):
                await bot.send_message(group.id, "x", reply_to_message_id=999)

            await bot.get_updates(allowed_updates=["message", "callback_query"])

            async def press_later() -> None:
                await asyncio.sleep(0.3)
                await asyncio.to_thread(sim.press, bob, sim.replies(group)[0], "a")

            asyncio.create_task(press_later())
            started = time.monotonic()
            updates = await bot.get_updates(timeout=5)
            assert time.monotonic() - started < 3
            assert [u.callback_query.data for u in updates] == ["a"]
    finally:
        server.close()


def test_http_wire_formats(sim: FakeTelegram, group) -> None:
    import json
    import urllib.error
    import urllib.parse
    import urllib.request

    with sim.serve_http() as server:
        base = f"{server.url}/bot{sim.token}"
        as_json = urllib.request.Request(f"{base}/sendMessage", headers={"Content-Type": "application/json"},
                                         data=json.dumps({"chat_id": group.id, "text": "json body"}).encode())
        assert json.load(urllib.request.urlopen(as_json))["result"]["text"] == "json body"
        form = urllib.parse.urlencode({"chat_id": group.id, "text": "form body"}).encode()
        assert json.load(urllib.request.urlopen(f"{base}/sendMessage", data=form))["result"]["text"] == "form body"
        query = urllib.parse.urlencode({"chat_id": group.id, "text": "query string"})
        assert json.load(urllib.request.urlopen(f"{base}/sendMessage?{query}"))["result"]["text"] == "query string"
        for url, code in [(f"{base}/noSuchMethod", 404), (f"{server.url}/botWRONG/getMe", 401)]:
            with pytest.raises(urllib.error.HTTPError) as caught:
                urllib.request.urlopen(url)
            assert caught.value.code == code
    assert [m["text"] for m in sim.replies(group)] == ["json body", "form body", "query string"]


def test_a_request_cut_off_before_its_body_is_carried_out_by_nobody(sim: FakeTelegram, group) -> None:
    """A client killed (or a call cancelled) between writing its headers and its body: a real server never got the
    request, so nothing happens — not a deleteMessage refused for an "empty chat_id" that the bot never sent."""
    import socket
    import urllib.parse

    erin = sim.user("erin")
    sim.join(group, erin)
    message = sim.send(erin, "keep me", group)
    with sim.serve_http() as server:
        host, port = urllib.parse.urlsplit(server.url).hostname, urllib.parse.urlsplit(server.url).port
        body = urllib.parse.urlencode({"chat_id": group.id, "message_id": message["message_id"]}).encode()
        for sent in (b"", body[: len(body) // 2]):
            with socket.create_connection((host, port)) as conn:
                conn.sendall(f"POST /bot{sim.token}/deleteMessage HTTP/1.1\r\nHost: {host}\r\n"
                             "Content-Type: application/x-www-form-urlencoded\r\n"
                             f"Content-Length: {len(body)}\r\n\r\n".encode() + sent)
        time.sleep(0.3)
    assert sim.calls("deleteMessage") == []
    assert sim.message(group, message["message_id"]) is not None


def test_http_server_and_driver_share_state_safely(sim: FakeTelegram, group, bob) -> None:
    import json
    import threading
    import urllib.parse
    import urllib.request

    with sim.serve_http() as server:
        url = f"{server.url}/bot{sim.token}/sendMessage"

        def spam(worker: int) -> None:
            for i in range(20):
                data = urllib.parse.urlencode({"chat_id": group.id, "text": f"w{worker}-{i}"}).encode()
                assert json.load(urllib.request.urlopen(url, data=data))["ok"]

        workers = [threading.Thread(target=spam, args=(n,)) for n in range(4)]
        for worker in workers:
            worker.start()
        for i in range(20):
            sim.send(bob, f"bob-{i}", chat=group)
        for worker in workers:
            worker.join(10)
    ids = [m["message_id"] for m in sim.messages(group)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert len(sim.replies(group)) == 80 and sim.pending_update_count == 20


async def test_transport_faults_become_ptb_exceptions(sim, group) -> None:
    """In-process as over HTTP's client library: a request that never arrived is a NetworkError, one whose answer
    was lost a TimedOut — and the second one's message is in the chat."""
    async with in_process_bot(sim) as bot:
        sim.network_error("sendMessage")
        with pytest.raises(NetworkError, match="ConnectError"):
            await bot.send_message(group.id, "never sent")
        sim.timeout_after_send("sendMessage")
        with pytest.raises(TimedOut):
            await bot.send_message(group.id, "sent, answer lost")
    assert [m["text"] for m in sim.replies(group)] == ["sent, answer lost"]


async def test_transport_faults_over_http(sim, group) -> None:
    sim.lost_answer_hold = 1.0
    with sim.serve_http() as server:
        request = HTTPXRequest(read_timeout=0.5)
        async with Bot(sim.token, base_url=server.url + "/bot", request=request) as bot:
            sim.network_error("sendMessage")
            with pytest.raises(NetworkError):
                await bot.send_message(group.id, "never sent")
            sim.timeout_after_send("sendMessage")
            with pytest.raises(TimedOut):
                await bot.send_message(group.id, "sent, answer lost")
    assert [m["text"] for m in sim.replies(group)] == ["sent, answer lost"]
