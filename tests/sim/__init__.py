"""Tests of the simulated Telegram Bot API (bot/sim)."""
