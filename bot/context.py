"""Typed access for handlers and jobs: `context.services.roles`, `context.actor`, `context.tr` — no string keys."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from telegram.ext import Application, CallbackContext, ExtBot

from bot.clock import Clock
from bot.config import Config
from bot.domain.roles import Actor, Role
from bot.texts import Translator, translator

if TYPE_CHECKING:
    from bot.services.activity import ActivityBuffer
    from bot.services.feedback import FeedbackService
    from bot.services.funnel import FunnelService
    from bot.services.groups import GroupService
    from bot.services.inbox import InboxService
    from bot.services.members import MemberService
    from bot.services.moderation import ModerationService
    from bot.services.logchat import LogChatService
    from bot.services.rules import RulesService
    from bot.services.points import PointsService
    from bot.services.roles import RoleService
    from bot.services.outbox import Outbox
    from bot.services.nightmode import NightModeService
    from bot.services.schedules import ScheduleService
    from bot.services.polls import PollService
    from bot.services.topics import TopicService
    from bot.services.shop import ShopService
    from bot.services.stats import StatsService
    from bot.services.spotlight import SpotlightService
    from bot.services.loyalty import LoyaltyService
    from bot.services.nps import NpsService
    from bot.services.export import ExportService
    from bot.services.connections import ConnectionService
    from storage.db import Database


@dataclass
class Services:
    config: Config
    clock: Clock
    db: Database
    inbox: InboxService
    groups: GroupService
    members: MemberService
    roles: RoleService
    activity: ActivityBuffer
    points: PointsService
    funnel: FunnelService
    shop: ShopService
    outbox: Outbox
    schedules: ScheduleService
    polls: PollService
    topics: TopicService
    nightmode: NightModeService
    stats: StatsService
    spotlight: SpotlightService
    loyalty: LoyaltyService
    nps: NpsService
    export: ExportService
    feedback: FeedbackService
    moderation: ModerationService
    rules: RulesService
    logchat: LogChatService
    connections: ConnectionService


@dataclass(frozen=True)
class Elsewhere:
    """A command typed in private chat acting on a group (/connect, or "which group?"): replies go back to the
    private chat (`chat_id`, answering `message_id`); `stand_in_id` is the id the command's message has in the group
    view handlers see (there is no such message in the group: tidying it up tidies the private one)."""

    chat_id: int
    message_id: int
    group_id: int
    group_title: str
    stand_in_id: int


class BotData:
    """Application-wide state PTB hands every context; filled once by build_application."""

    def __init__(self) -> None:
        self.services: Services | None = None
        self.commands: list = []  # the registered command callbacks, for /help and the menus


class BotContext(CallbackContext[ExtBot, dict, dict, BotData]):
    def __init__(self, application: Application, chat_id: int | None = None, user_id: int | None = None) -> None:
        super().__init__(application, chat_id=chat_id, user_id=user_id)
        # Set by the middleware once per update (PTB reuses one context across handler groups).
        self.actor: Actor = Actor(0, 0, Role.MEMBER)
        self.tr: Translator = translator("en")
        # Set by the command router when a command typed in private acts on a group (handlers/connections.py).
        self.elsewhere: Elsewhere | None = None
        self.answered_elsewhere = False  # whether such a command's answer went back to the private chat
        self.chat_xp_decided = False  # this message's chat XP was decided (handlers/points.py, once per update)
        self.earned = False  # what it earns by staying was decided (handlers/points.earn_by_staying, once per update)
        self.held_back = False  # …and waits for the outcome of a rule's delete (handlers/rules.py settles it)

    @property
    def services(self) -> Services:
        services = self.bot_data.services
        assert services is not None, "build_application() did not wire services"
        return services
