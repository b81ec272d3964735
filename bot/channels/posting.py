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

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.pool),
                timeout=aiohttp.ClientTimeout(total=20),
                headers=self.headers,
            )
        return self._http

    async def post(self, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON body or {}); raises TimeoutError or aiohttp.ClientError."""
        async with self._session().post(self.url, json=payload) as response:
            return response.status, await _json(response)

    async def post_form(self, url: str, form: aiohttp.FormData) -> tuple[int, dict[str, Any]]:
        """A multipart POST to another endpoint of the same API (a file upload), with the
        same pool and headers."""
        async with self._session().post(url, data=form) as response:
            return response.status, await _json(response)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()


async def _json(response: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        body = await response.json(content_type=None)
    except ValueError:
        body = {}
    return body if isinstance(body, dict) else {}
