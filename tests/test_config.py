"""config.yaml: defaults, validation with one line per problem, token only from the environment, exit code 2."""
from __future__ import annotations

import subprocess
import sys

import pytest

from bot.__main__ import main
from bot.config import ConfigError, load_config, parse_config


def test_shipped_config_is_valid_and_matches_the_defaults():
    from bot.config import Config

    shipped = load_config("config.yaml", env={})
    assert shipped.model_dump() == Config().model_dump()


def test_every_problem_is_one_line_with_file_field_and_reason(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("telegram:\n  mode: carrier-pigeon\n  extra_thing: 1\ndefaults:\n  timezone: Mars/Olympus\n  transient_seconds: -5\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    lines = info.value.lines
    assert len(lines) == 4
    assert all(line.startswith(f"{path}: ") for line in lines)
    text = "\n".join(lines)
    assert "telegram.mode: must be 'polling' or 'webhook' (got 'carrier-pigeon')" in text
    assert "telegram.extra_thing: unknown key" in text
    assert "defaults.timezone: unknown timezone 'Mars/Olympus'" in text
    assert "defaults.transient_seconds:" in text


@pytest.mark.parametrize("zone", ["America", "EST", "Mars/Olympus", ""])
def test_timezones_that_are_not_places_are_refused_with_one_line(zone):
    with pytest.raises(ConfigError) as info:
        parse_config({"defaults": {"timezone": zone}})
    assert info.value.lines == [f"config.yaml: defaults.timezone: unknown timezone {zone!r} (use an IANA name such as Asia/Shanghai)"]


def test_invalid_yaml_names_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("telegram:\n  mode: [polling\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert info.value.lines[0].startswith(f"{path}: line ")


def test_token_is_refused_in_the_file_and_read_from_the_environment(tmp_path):
    with pytest.raises(ConfigError) as info:
        parse_config({"token": "123:abc"})
    assert "BOT_TOKEN" in info.value.lines[0]
    config = load_config("config.yaml", env={"BOT_TOKEN": "123:secret"})
    assert config.token.get_secret_value() == "123:secret"
    assert "123:secret" not in repr(config) and "123:secret" not in str(config.model_dump())


def test_a_named_config_file_that_does_not_exist_is_an_error(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.yaml", env={})
    assert "no such file" in info.value.lines[0]


def test_cli_exits_2_with_the_problems_on_stderr(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("database:\n  pth: x.db\n")
    assert main(["--config", str(path), "check"]) == 2
    err = capsys.readouterr().err
    assert f"{path}: database.pth: unknown key" in err


def test_run_without_token_says_how_to_set_it(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "bot", "run"], capture_output=True, text=True, env=env, timeout=60, cwd=tmp_path)
    assert proc.returncode == 2
    assert "BOT_TOKEN" in proc.stderr


@pytest.mark.parametrize("value", [True, False])
def test_the_old_link_gate_key_says_where_it_went(value):
    """points.link_gate was a second mechanism; it is the rule `links` now, and an old config is told so in one line."""
    with pytest.raises(ConfigError) as info:
        parse_config({"points": {"link_gate": value}})
    [line] = info.value.lines
    assert line.startswith("config.yaml: points.link_gate: link_gate moved to the rules engine: it is the rule named links")
