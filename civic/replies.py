"""What the assistant says, as every channel renders it: text, buttons, an image, or a
custom payload (a numbered menu, a survey step). Rasa's REST channel returns this shape,
and the parts answered before Rasa (surveys, window ratings) build it themselves."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class BotMessage:
    """One message of the assistant, as Rasa's REST channel returns it."""

    text: str | None = None
    buttons: list[Button] = field(default_factory=list)
    image: str | None = None
    custom: dict[str, Any] | None = None

    @classmethod
    def from_rasa(cls, data: dict[str, Any]) -> BotMessage:
        return cls(
            text=data.get("text"),
            buttons=[
                Button(str(b.get("title", "")), str(b.get("payload", "")))
                for b in data.get("buttons") or []
            ],
            image=data.get("image"),
            custom=data.get("custom"),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "buttons": [{"title": b.title, "payload": b.payload} for b in self.buttons],
            "image": self.image,
            "custom": self.custom,
        }
