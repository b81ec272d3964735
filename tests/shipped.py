"""The shipped knowledge base and its matcher, built once per test process and shared by the
tests on purpose (matching is pure, nothing changes them). The code under test keeps no such
object: `bot.app.build_app` builds a matcher when it is not given one, so a test that wants
this one passes it (`build_app(settings, **tests.conftest.shipped())`)."""

from __future__ import annotations

from bot.app import load_matcher

KB, MATCHER = load_matcher()
