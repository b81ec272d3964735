"""A pooled aiohttp client that POSTs JSON to a platform API (shared by the senders)."""

from __future__ import annotations

from typing import Any

import aiohttp


class JsonPoster:
    def __init__(self, url: str, headers: dict[str, str] | None = None, pool: int = 64) -> None:
        self.url = url
        self.headers = headers or {}
        self.pool = pool
        self._http: aiohttp.ClientSession | None = None

    async def post(self, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON body or {}); raises TimeoutError or aiohttp.ClientError."""
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.pool),
                timeout=aiohttp.ClientTimeout(total=20),
                headers=self.headers,
            )
        async with self._http.post(self.url, json=payload) as response:
            try:
                body = await response.json(content_type=None)
            except ValueError:
                body = {}
            return response.status, body if isinstance(body, dict) else {}

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
