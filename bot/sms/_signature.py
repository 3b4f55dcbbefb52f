"""The SMS gateway's webhook signature (Twilio's scheme):

    X-Twilio-Signature = base64(HMAC-SHA1(auth token, URL + each POST parameter's name and
                                value, sorted by name))

A name given more than once is signed with each of its distinct values, sorted (as the
gateway's own libraries do).

The URL is the public one the gateway was told to call (`SMS_WEBHOOK_URL`), not the one
this process sees behind a proxy.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable


def signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """The signature the gateway sends with a POST of `params` to `url`."""
    data = url + "".join(name + value for name, value in sorted(set(params)))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def valid_signature(
    auth_token: str, url: str, params: Iterable[tuple[str, str]], given: str
) -> bool:
    """True when `given` is the signature of this request (compared in constant time)."""
    if not auth_token or not given:
        return False
    return hmac.compare_digest(signature(auth_token, url, params).encode(), given.encode())
