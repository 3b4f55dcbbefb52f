"""Masking identifiers in free text, and rounding positions to about 100 m."""

from __future__ import annotations

import pytest

from civic.privacy import coarse_position, mask_identifiers, redact_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("电话13812345678", "电话***"),
        ("call 0571-87654321", "call ***"),
        ("call +86 138 1234 5678 now", "call *** now"),
        ("ID 33010619900101123X here", "ID *** here"),
        ("write to zhang.wei+city@example.com.cn", "write to ***"),
        ("see HZ-2026-000123", "see HZ-2026-000123"),
        ("since 2026-01-15 at No. 12", "since 2026-01-15 at No. 12"),
        (None, None),
        ("", ""),
    ],
)
def test_identifiers_are_masked_and_house_numbers_kept(
    text: str | None, expected: str | None
) -> None:
    assert mask_identifiers(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("延安路12号门口有个坑", "延安路***门口有个坑"),
        ("文三路100号3幢2单元501室漏水", "文三路***漏水"),
        ("住在5栋1203, 电话13812345678", "住在***, 电话***"),
        ("小区12号楼下", "小区***下"),
        ("住3-201的邻居", "住***的邻居"),
        ("12-3-301", "***"),
        ("since 2026-01-15 at No. 12", "since 2026-01-15 at ***"),
        ("Room 301, Apt 5B", "***, ***"),
        ("Block 7 Building 2", "*** ***"),
        ("12 Yan'an Road is flooded", "*** Yan'an Road is flooded"),
        ("mail me a.b@c.cn", "mail me ***"),
        # What only looks like a door stays: dates, metro lines, spans, counts.
        ("3月5号开始", "3月5号开始"),
        ("12月15号", "12月15号"),
        ("地铁1号线出口", "地铁1号线出口"),
        ("路灯坏了3-5天", "路灯坏了3-5天"),
        ("3 lamps on Jiangnan Avenue", "3 lamps on Jiangnan Avenue"),
        ("cars block 3 lanes", "cars block 3 lanes"),
        ("see HZ-2026-000123", "see HZ-2026-000123"),
        (None, None),
    ],
)
def test_redaction_masks_house_and_unit_numbers_too(text: str | None, expected: str | None) -> None:
    assert redact_text(text) == expected


def test_positions_are_rounded_to_about_100_metres() -> None:
    assert [coarse_position(v) for v in (30.2581234, 120.1689876, -0.0004, None)] == [
        30.258,
        120.169,
        -0.0,
        None,
    ]
