"""Status updates to a WeChat user: a customer-service message while the 48-hours window
after the user's last message is open, otherwise the approved template message."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.wechat._client import WeChatClient, WeChatOutOfWindow
from civic.i18n import t

WINDOW = timedelta(hours=48)


class StatusSender:
    def __init__(self, *, client: WeChatClient, template_id: str | None) -> None:
        self.client = client
        self._template_id = template_id

    async def send(
        self,
        openid: str,
        text: str,
        *,
        language: str,
        last_message_at: datetime | None,
        now: datetime,
    ) -> str:
        """Send `text`; returns "custom" or "template". Raises the client's errors, and
        WeChatOutOfWindow when the window is shut and no template is configured."""
        if last_message_at is not None and now - last_message_at < WINDOW:
            try:
                await self.client.send_text(openid, text)
                return "custom"
            except WeChatOutOfWindow:
                pass  # WeChat's clock says the window has shut: the template it is
        if not self._template_id:
            raise WeChatOutOfWindow(45015, "outside the 48 hours and no template configured")
        data = {
            "first": t("wechat.template_first", language),
            "keyword1": text,
            "remark": t("wechat.template_remark", language),
        }
        await self.client.send_template(openid, self._template_id, data)
        return "template"

    async def aclose(self) -> None:
        await self.client.aclose()
