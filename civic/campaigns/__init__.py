"""Invitation campaigns: the sample frame and the registry import, stratified sampling, the signed
invitation tokens and QR links, and campaign progress."""

from civic.campaigns._frame import (
    CONTACT,
    attributes,
    eligible_members,
    erase_household,
    member_for_citizen,
    normalise_mobile,
    opt_out,
    phone_in_panel,
    subscribe,
)
from civic.campaigns._qr import invitation_links, qr_matrix, qr_png, window_deep_link
from civic.campaigns._registry import ImportReport, RowError, import_households
from civic.campaigns._sampling import (
    KEY_SEPARATORS,
    allocate,
    attributes_of_key,
    draw_sample,
    stratum_key,
)
from civic.campaigns._service import (
    Design,
    create_campaign,
    draw,
    find_by_nonce,
    opt_out_member,
    progress,
    running_campaigns,
    sms_cost,
)
from civic.campaigns._stop import is_stop_word, opt_out_number, sms_opted_out
from civic.campaigns._tokens import TOKEN_LENGTH, looks_like_token, new_nonce, sign, verify
from civic.campaigns._window_codes import WindowCode, sign_window_code, verify_window_code

__all__ = [
    "CONTACT",
    "KEY_SEPARATORS",
    "TOKEN_LENGTH",
    "Design",
    "ImportReport",
    "RowError",
    "WindowCode",
    "allocate",
    "attributes",
    "attributes_of_key",
    "create_campaign",
    "draw",
    "draw_sample",
    "eligible_members",
    "erase_household",
    "find_by_nonce",
    "import_households",
    "invitation_links",
    "is_stop_word",
    "looks_like_token",
    "member_for_citizen",
    "new_nonce",
    "normalise_mobile",
    "opt_out",
    "opt_out_member",
    "opt_out_number",
    "phone_in_panel",
    "progress",
    "qr_matrix",
    "qr_png",
    "running_campaigns",
    "sign",
    "sign_window_code",
    "sms_cost",
    "sms_opted_out",
    "stratum_key",
    "subscribe",
    "verify",
    "verify_window_code",
    "window_deep_link",
]
