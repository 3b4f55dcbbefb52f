"""The daily job: run through the scheduler's wrapper, it publishes into var/open-data."""

from __future__ import annotations

from civic.opendata import FILES, validate
from civic.settings import get_settings
from ops import scheduler
from storage.db import migrate


def test_the_daily_job_publishes_into_the_var_folder() -> None:
    settings = get_settings()
    migrate(settings.database_url)
    assert scheduler.run_job("publish-open-data") == 0
    folder = settings.var_dir / "open-data"
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)
    assert validate(folder) == []
    assert (folder / "tickets.csv").read_text("utf-8-sig").splitlines() == [
        "service_request_id,status,status_detail,lifecycle_status,service_code,"
        "service_name_zh,service_name_en,agency,agency_name_zh,agency_name_en,district,"
        "district_name_zh,district_name_en,address,lat,long,requested_datetime,"
        "updated_datetime,expected_datetime"
    ]
