"""A simulated Telegram Bot API (api.json, Bot API 10.1) that tests, the demo and the console run the bot against:
stateful, strict about what it accepts, and answering with Telegram's own refusals."""
from .core import FakeTelegram
from .errors import SimError
from .state import ANONYMOUS_ADMIN_ID, Call, SimChat, SimUser
from .transport import SimRequest, SimServer

__all__ = [
    "ANONYMOUS_ADMIN_ID",
    "Call",
    "FakeTelegram",
    "SimChat",
    "SimError",
    "SimRequest",
    "SimServer",
    "SimUser",
]
