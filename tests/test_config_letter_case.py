"""Letter case is not a reason to refuse a value whose meaning is plain: `level: info`, `timezone: asia/shanghai`.
What is kept is the canonical spelling, so logs, /settings and the database all show one name."""
from __future__ import annotations

import pytest

from bot.config import ConfigError, parse_config


@pytest.mark.parametrize(("given", "kept"), [("info", "INFO"), ("Debug", "DEBUG"), (" warning ", "WARNING"), ("ERROR", "ERROR")])
def test_logging_level_in_any_case(given, kept):
    assert parse_config({"logging": {"level": given}}).logging.level == kept


def test_an_unknown_logging_level_is_still_one_line():
    with pytest.raises(ConfigError) as info:
        parse_config({"logging": {"level": "chatty"}})
    assert info.value.lines == ["config.yaml: logging.level: must be 'DEBUG', 'INFO', 'WARNING' or 'ERROR' (got 'CHATTY')"]


@pytest.mark.parametrize(("given", "kept"), [("asia/shanghai", "Asia/Shanghai"), ("EUROPE/BERLIN", "Europe/Berlin"), ("utc", "UTC")])
def test_default_timezone_in_any_case_is_kept_canonical(given, kept):
    assert parse_config({"defaults": {"timezone": given}}).defaults.timezone == kept
