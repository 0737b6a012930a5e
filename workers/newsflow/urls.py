"""Canonical article URLs and the identity derived from them.

The article `_id` and the Kafka message key are both the hash of the canonical
URL, so a re-delivered or re-published article always lands on the same
document and the same partition.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

# Query parameters that only track the reader; they never select content.
TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid", "ref", "ref_src", "cmpid", "ocid", "smid"}
)


@lru_cache(maxsize=1024)  # asked twice per message: for its id and for the stored canonical URL
def canonical_url(url: str) -> str:
    """Lower-case scheme and host, sorted query without tracking parameters, no fragment.

    Non-HTTP identifiers (``urn:``, ``file:``) are returned stripped but otherwise unchanged.
    """
    url = url.strip()
    if not url.lower().startswith(("http://", "https://")):
        return url
    parts = urlsplit(canonicalize_url(url))
    query = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not name.lower().startswith("utm_") and name.lower() not in TRACKING_PARAMS
    ]
    host = (parts.hostname or "").removeprefix("www.")
    default_port = {"http": 80, "https": 443}[parts.scheme.lower()]
    netloc = host if parts.port in (None, default_port) else f"{host}:{parts.port}"
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((parts.scheme.lower(), netloc, path, urlencode(query), ""))


def article_id(url: str) -> str:
    """Deterministic document id and message key: 32 hex chars of SHA-256 of the canonical URL."""
    return hashlib.sha256(canonical_url(url).encode("utf-8")).hexdigest()[:32]
