"""The web chat's photo and location endpoints through the real app, the real
`Conversation` and the stand-in Rasa (which answers `echo:<what it was sent>`): what
reaches Rasa is what Telegram's photos and locations send, the stored photo has lost its
metadata, and every refusal answers in the citizen's language and reaches no one."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from bot.assistant import Conversation, RasaClient
from bot.web import create_app
from civic.city import Profile
from civic.settings import get_settings
from storage.db import session_factory
from storage.image_metadata import gps_position
from storage.media import MAX_PHOTO_BYTES
from storage.updates import DatabaseLedger
from tests.fakes.rasa import FakeRasa
from tests.photos import MAKE, jpeg_with_gps, plain_jpeg
from tests.web_chat import new_session, say

WEST_LAKE = (30.2431, 120.149)


@dataclass
class Chat:
    http: TestClient
    rasa: FakeRasa
    media: Path

    def messages_to_rasa(self) -> list[str]:
        return [body["message"] for body in self.rasa.bodies]

    def upload(self, token: str, data: bytes, **fields: str) -> Any:
        files = {"photo": ("photo.jpg", data, "image/jpeg")}
        return self.http.post("/api/chat/photo", data={"token": token, **fields}, files=files)


@pytest.fixture
def chat(database_url: str, profile: Profile, monkeypatch: pytest.MonkeyPatch) -> Iterator[Chat]:
    monkeypatch.setenv("CIVIC_SECRET_KEY", "media-test-secret-0123456789abcdefghij")
    monkeypatch.setenv("CIVIC_CHAT_LIMIT_PER_SESSION", "4")
    monkeypatch.setenv("CIVIC_CHAT_LIMIT_PER_IP", "8")
    get_settings.cache_clear()
    sessions = session_factory(database_url)
    with FakeRasa.running() as rasa:
        conversation = Conversation(
            rasa=RasaClient(rasa.url), sessions=sessions, ledger=DatabaseLedger(sessions)
        )
        app = create_app(conversation, sessions=sessions, profile=profile)
        with TestClient(app) as http:
            yield Chat(http, rasa, get_settings().var_dir / "media")


def stored(chat: Chat) -> list[Path]:
    return sorted(chat.media.iterdir()) if chat.media.is_dir() else []


def test_a_photo_reaches_the_conversation_as_telegram_sends_it(chat: Chat) -> None:
    token = new_session(chat.http)
    response = chat.upload(token, jpeg_with_gps(*WEST_LAKE), message_id="m1")

    assert response.status_code == 200, response.text
    [photo] = stored(chat)
    expected = '/send_photo{"photo":"' + photo.name + '"}'
    assert chat.messages_to_rasa() == [expected]
    assert [m["text"] for m in response.json()["messages"]] == ["echo:" + expected]
    # metadata and the position are gone from what was kept; the picture is intact
    kept = photo.read_bytes()
    assert MAKE.rstrip(b"\0") not in kept and gps_position(kept) is None
    assert Image.open(io.BytesIO(kept)).size == (32, 24)


def test_a_repeated_upload_with_the_same_message_id_is_one_turn(chat: Chat) -> None:
    token = new_session(chat.http)
    chat.upload(token, plain_jpeg(), message_id="same")
    again = chat.upload(token, plain_jpeg(), message_id="same")
    assert again.status_code == 200 and again.json()["messages"] == []
    assert len(chat.messages_to_rasa()) == 1


def test_the_photos_gps_becomes_the_place_only_when_chosen(chat: Chat) -> None:
    token = new_session(chat.http)
    response = chat.upload(token, jpeg_with_gps(*WEST_LAKE), use_gps="1", language="en")

    assert response.status_code == 200, response.text
    [photo] = stored(chat)
    assert chat.messages_to_rasa() == [
        '/share_location{"lat":30.2431,"long":120.149}',
        '/send_photo{"photo":"' + photo.name + '"}',
    ]
    assert gps_position(photo.read_bytes()) is None  # used, not kept


def test_gps_chosen_on_a_photo_without_it_says_so_and_still_sends_the_photo(chat: Chat) -> None:
    token = new_session(chat.http)
    response = chat.upload(token, plain_jpeg(), use_gps="1", language="en")

    texts = [m["text"] for m in response.json()["messages"]]
    [photo] = stored(chat)
    assert texts == [
        "This photo does not say where it was taken, so it was sent without a place. "
        "Please share your location or tell me the place.",
        'echo:/send_photo{"photo":"' + photo.name + '"}',
    ]


def test_an_oversize_photo_is_refused_in_the_citizens_language(chat: Chat) -> None:
    token = new_session(chat.http)
    big = plain_jpeg() + b"\0" * MAX_PHOTO_BYTES
    response = chat.upload(token, big, language="zh")

    assert response.status_code == 422
    assert response.json()["messages"][0]["text"] == (
        "这个文件无法接收:仅支持 10 MB 以内的 JPEG、PNG、WebP 照片。"
        "我们的对话没有任何改变,请换一张照片,或点「跳过」。"
    )
    assert (chat.messages_to_rasa(), stored(chat)) == ([], [])
    # the conversation goes on as before
    assert [m["text"] for m in say(chat.http, token, "路灯坏了")] == ["echo:路灯坏了"]


def test_a_body_past_the_upload_cap_gets_413_in_the_chats_shape(chat: Chat) -> None:
    token = new_session(chat.http)
    huge = b"\xff\xd8\xff" + b"\0" * get_settings().max_upload_bytes
    response = chat.http.post(
        "/api/chat/photo",
        data={"token": token},
        files={"photo": ("p.jpg", huge, "image/jpeg")},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 413
    assert response.json()["messages"][0]["text"] == (
        "That is too large to send (at most 12 MB). Please send something shorter."
    )
    assert chat.messages_to_rasa() == []


def test_text_with_an_image_name_is_not_a_photo(chat: Chat) -> None:
    token = new_session(chat.http)
    files = {"photo": ("holiday.jpg", b"<html>not a picture</html>", "image/jpeg")}
    response = chat.http.post(
        "/api/chat/photo", data={"token": token, "language": "en"}, files=files
    )

    assert response.status_code == 422
    assert response.json() == {
        "error": "chat_media.photo_rejected",
        "messages": [
            {
                "text": "That file could not be accepted: only JPEG, PNG or WebP photos up to "
                "10 MB. Nothing else changed in our conversation; please choose another "
                "photo or tap Skip.",
                "buttons": [],
            }
        ],
    }
    assert (chat.messages_to_rasa(), stored(chat)) == ([], [])


def test_a_form_without_a_photo_asks_for_one(chat: Chat) -> None:
    token = new_session(chat.http)
    response = chat.http.post("/api/chat/photo", data={"token": token, "language": "en"})
    assert response.status_code == 400
    assert response.json()["messages"][0]["text"] == (
        "No photo arrived. Please choose a photo and send it again."
    )


@pytest.mark.parametrize("token", ["", "forged.token.value.that-is-long-enough"])
def test_a_bad_token_is_refused_with_401_and_nothing_is_kept(chat: Chat, token: str) -> None:
    response = chat.upload(token, plain_jpeg(), language="en")

    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "web_session.invalid"
    assert body["messages"][0]["text"].startswith("This chat session is not valid")
    assert (chat.messages_to_rasa(), stored(chat)) == ([], [])


def test_uploads_count_against_the_chats_rate_limit(chat: Chat) -> None:
    token = new_session(chat.http)
    statuses = [chat.upload(token, plain_jpeg(), language="en").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    assert len(stored(chat)) == 4


def test_an_address_over_its_limit_is_refused_before_its_upload_is_read(chat: Chat) -> None:
    statuses = [chat.upload("", plain_jpeg(), language="en").status_code for _ in range(9)]
    assert statuses == [401] * 8 + [429]
    last = chat.upload("", plain_jpeg(), language="en")
    assert last.status_code == 429 and int(last.headers["Retry-After"]) > 0
    assert last.json()["error"] == "limits.chat"


def test_a_location_reaches_the_conversation_as_telegram_sends_it(chat: Chat) -> None:
    token = new_session(chat.http)
    response = chat.http.post(
        "/api/chat/location", json={"token": token, "lat": 30.25, "long": 120.16}
    )
    assert response.status_code == 200, response.text
    assert chat.messages_to_rasa() == ['/share_location{"lat":30.25,"long":120.16}']


@pytest.mark.parametrize(
    "body", [{"lat": 91, "long": 120}, {"lat": "here", "long": 120}, {"long": 120}]
)
def test_a_position_that_cannot_be_one_is_refused(chat: Chat, body: dict[str, Any]) -> None:
    token = new_session(chat.http)
    response = chat.http.post("/api/chat/location", json={"token": token, "language": "en", **body})
    assert response.status_code == 400
    assert response.json()["messages"][0]["text"] == (
        "That position could not be read. Please pick the place on the map again."
    )
    assert chat.messages_to_rasa() == []


def test_a_location_with_a_bad_token_is_refused(chat: Chat) -> None:
    response = chat.http.post("/api/chat/location", json={"token": "x", "lat": 30, "long": 120})
    assert response.status_code == 401 and chat.messages_to_rasa() == []


def test_the_map_has_every_district_with_both_names(chat: Chat, profile: Profile) -> None:
    body = chat.http.get("/api/chat/map").json()
    assert {d["code"] for d in body["districts"]} == set(profile.districts)
    shangcheng = next(d for d in body["districts"] if d["code"] == "shangcheng")
    assert shangcheng["name"] == {"zh": "上城区", "en": "Shangcheng"}
    assert shangcheng["path"].startswith("M") and shangcheng["path"].endswith("Z")
    assert body["tile_url"] is None and body["zoom"] == 10


def test_the_chat_page_allows_its_own_scripts_and_api_only(chat: Chat) -> None:
    page = chat.http.get("/chat")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self';" in policy and "connect-src 'self';" in policy
    assert "img-src 'self' data: blob:;" in policy  # no tile server configured
    assert page.headers["x-content-type-options"] == "nosniff"


def test_the_chat_pages_images_may_come_from_the_configured_tile_server() -> None:
    from bot.web._widget import chat_page_policy

    policy = chat_page_policy("https://tiles.example.cn/{z}/{x}/{y}.png")
    assert "img-src 'self' data: blob: https://tiles.example.cn;" in policy
    assert "img-src 'self' data: blob:;" in chat_page_policy("not a url")
