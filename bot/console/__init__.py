"""The officers' web console, served by the bot's own aiohttp server under /console/."""

from bot.console.web import routes

__all__ = ["routes"]
