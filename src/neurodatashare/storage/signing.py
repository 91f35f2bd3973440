"""Comparing an HMAC signature taken from a URL with the one it should be."""

from __future__ import annotations

import hmac


def signature_matches(expected: str, given: str) -> bool:
    """Constant-time comparison that is simply False for any malformed `given`.

    hmac.compare_digest raises TypeError for non-ASCII text, and a URL's query can carry
    any character, so both sides are compared as UTF-8 bytes.
    """
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass"))
