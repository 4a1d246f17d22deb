"""WeChat's customer-service message API: how answers that missed the 5-second window, long answers
and agent messages reach a WeChat user. The access token is cached in the database for all
replicas and fetched again when WeChat says it expired. The base URL is configurable (tests run a
fake WeChat server).
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp

from bot.wechat.store import WechatStore

logger = logging.getLogger(__name__)

TOKEN_EXPIRED = (40001, 40014, 42001)
OUTSIDE_WINDOW = 45015  # the user has not written for 48 hours: WeChat refuses messages


class WechatApiError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"WeChat API error {code}: {message}")
        self.code = code


class CustomerServiceApi:
    def __init__(self, base_url: str, app_id: str, secret: str, store: WechatStore) -> None:
        self.base_url, self.app_id, self.secret, self.store = base_url.rstrip("/"), app_id, secret, store
        self._http: aiohttp.ClientSession | None = None

    @property
    def http(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()

    async def send_text(self, openid: str, text: str) -> None:
        """Send one text; a stale token is replaced once. ``WechatApiError`` (45015 …) otherwise."""
        body = {"touser": openid, "msgtype": "text", "text": {"content": text}}
        for attempt in range(2):
            token = await self._token(refresh=attempt > 0)
            answer = await self._post("/cgi-bin/message/custom/send", token, body)
            code = int(answer.get("errcode", 0))
            if code == 0:
                return
            if code not in TOKEN_EXPIRED:
                raise WechatApiError(code, str(answer.get("errmsg", "")))
        raise WechatApiError(code, "the access token was refused twice")

    async def _token(self, refresh: bool) -> str:
        cached = None if refresh else await asyncio.to_thread(self.store.token, self.app_id)
        if cached:
            return cached
        params = {"grant_type": "client_credential", "appid": self.app_id, "secret": self.secret}
        try:
            async with self.http.get(self.base_url + "/cgi-bin/token", params=params) as reply:
                answer = await reply.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise WechatApiError(-1, f"token request failed: {error}") from error
        if "access_token" not in answer:
            raise WechatApiError(int(answer.get("errcode", -1)), str(answer.get("errmsg", "no token")))
        seconds = int(answer.get("expires_in", 7200))
        await asyncio.to_thread(self.store.save_token, self.app_id, answer["access_token"], seconds)
        return answer["access_token"]

    async def _post(self, path: str, token: str, body: dict) -> dict:
        try:
            async with self.http.post(
                self.base_url + path, params={"access_token": token}, json=body
            ) as reply:
                return await reply.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise WechatApiError(-1, f"send failed: {error}") from error
