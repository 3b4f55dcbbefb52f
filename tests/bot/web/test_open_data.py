"""`/open-data/`: the index page in both languages, a file at its stable address, an
unknown name, a file not yet published, and attempts to leave the folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.web import open_data_router
from civic.settings import get_settings
from storage.db import migrate, session_factory
from tests.civic.evaluation.fixture_year import fixture_profile
from tests.civic.opendata.seed import publish_all, seed

TEMPLATES = Path(__file__).resolve().parents[3] / "bot" / "web" / "templates"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    url = f"sqlite:///{tmp_path / 'test.db'}"
    migrate(url)
    profile = fixture_profile()
    with session_factory(url)() as session:
        seed(session, profile)
        publish_all(session, profile, tmp_path / "var" / "open-data")
    # a file beside the folder that must never be served
    (tmp_path / "var" / "secret.txt").write_text("not for you", "utf-8")
    return tmp_path / "var" / "open-data"


@pytest.fixture
def client(folder: Path) -> Iterator[TestClient]:
    app = FastAPI()
    app.include_router(open_data_router(folder=folder, templates_dir=TEMPLATES))
    with TestClient(app) as client:
        yield client


def test_the_index_lists_the_files_in_chinese(client: TestClient) -> None:
    response = client.get("/open-data/?lang=zh")
    assert response.status_code == 200
    page = response.text
    assert "<title>开放数据</title>" in page
    assert "生成时间：2027-01-15T08:00:00+08:00" in page
    assert '<a href="tickets.csv">tickets.csv</a><br>工单' in page
    assert '<td class="n">72</td>' in page  # the indicators' rows
    assert '<a href="datapackage.json">数据字典（datapackage.json）</a>' in page
    assert 'href="https://creativecommons.org/licenses/by/4.0/"' in page
    assert "纬度（WGS 84），保留3位小数（约100米）" in page


def test_the_index_in_english(client: TestClient) -> None:
    page = client.get("/open-data/?lang=en").text
    assert "<title>Open data</title>" in page
    assert "Generated: 2027-01-15T08:00:00+08:00" in page
    assert '<a href="?lang=zh" lang="zh">中文</a>' in page
    assert "Columns of Tickets" in page


def test_a_file_is_served_as_published(client: TestClient, folder: Path) -> None:
    response = client.get("/open-data/tickets.csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content == (folder / "tickets.csv").read_bytes()
    assert response.content.startswith(b"\xef\xbb\xbfservice_request_id,status,")
    package = client.get("/open-data/datapackage.json")
    assert package.json()["licenses"][0]["name"] == "CC-BY-4.0"


def test_the_app_serves_the_var_folder_and_leads_to_the_index(folder: Path) -> None:
    from bot.web import create_app

    # the app's default folder is var/open-data, where the fixture published
    assert folder == get_settings().var_dir / "open-data"
    app = create_app(cast(Any, None))  # the chat's conversation is not used here
    with TestClient(app) as client:
        response = client.get("/open-data", follow_redirects=False)
        assert response.status_code == 307
        assert response.headers["location"].endswith("/open-data/")
        assert (
            client.get("/open-data/indicators.csv").content
            == (folder / "indicators.csv").read_bytes()
        )


def test_an_unknown_file_is_404_with_a_message(client: TestClient) -> None:
    response = client.get("/open-data/passwords.csv?lang=en")
    assert response.status_code == 404
    assert response.text == (
        "There is no open-data file called 'passwords.csv'. The files are listed at /open-data/."
    )


def test_a_file_not_yet_published_is_404(client: TestClient, folder: Path) -> None:
    (folder / "indicators.json").unlink()
    response = client.get("/open-data/indicators.json?lang=zh")
    assert response.status_code == 404
    assert response.text == "文件“indicators.json”尚未发布。"


def test_before_the_first_publication_the_index_says_so(client: TestClient, folder: Path) -> None:
    (folder / "datapackage.json").write_text("{not json", "utf-8")
    page = client.get("/open-data/?lang=en").text
    assert "No files have been published yet." in page
    (folder / "datapackage.json").unlink()
    assert "尚未发布任何文件。" in client.get("/open-data/?lang=zh").text


@pytest.mark.parametrize(
    "path",
    [
        "/open-data/..%2Fsecret.txt",
        "/open-data/%2e%2e%2fsecret.txt",
        "/open-data/..%5Csecret.txt",
        "/open-data/../secret.txt",
        "/open-data/.tickets.csv.tmp",
    ],
)
def test_nothing_outside_the_list_is_reachable(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert "not for you" not in response.text
