"""AWS Signature Version 4 (header form) with the standard library only.

`sign_request` is a pure function: method, URL, headers, body bytes, credentials,
region, service and the signing time in; the headers to send out (the input ones plus
``X-Amz-Date``, ``X-Amz-Security-Token`` with temporary credentials, and
``Authorization``). The steps follow AWS's published algorithm: canonical request,
string to sign, derived signing key, signature.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timezone
from typing import Dict, List, Optional, Tuple
from urllib.parse import unquote_to_bytes, urlsplit

from ..errors import ConfigurationError, EncodeError
from ..http import Headers, HeadersLike, as_headers
from .auth import AwsCredentials

__all__ = ["ALGORITHM", "sign_request", "signing_key", "uri_encode"]

ALGORITHM = "AWS4-HMAC-SHA256"

# Headers a proxy or the HTTP stack may add or rewrite after signing; signing them would
# break the signature. The same list botocore leaves out.
_UNSIGNED_HEADERS = frozenset(
    {
        "authorization",
        "connection",
        "expect",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "x-amzn-trace-id",
    }
)

# Headers the signer owns: stale copies from an earlier attempt are dropped first. A
# given X-Amz-Security-Token is kept (and signed) unless the credentials carry their own.
_SIGNER_HEADERS = frozenset({"authorization", "x-amz-date"})

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def uri_encode(data: bytes, *, keep_slash: bool = False) -> str:
    """Percent-encode every byte outside RFC 3986's unreserved set, upper-case hex."""
    out = []
    for byte in data:
        if byte in _UNRESERVED or (keep_slash and byte == 0x2F):
            out.append(chr(byte))
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def _utf8(text: str, what: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise EncodeError("aws_sigv4", what, "not encodable as UTF-8") from exc


def _canonical_uri(path: str) -> str:
    # AWS (all services but S3) normalises the path: "." and ".." segments and empty
    # segments go, then the already-encoded path is URI-encoded once more.
    kept: List[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if kept:
                kept.pop()
            continue
        kept.append(segment)
    if not kept:
        return "/"
    normalised = "/" + "/".join(kept)
    if path.endswith("/"):
        normalised += "/"
    return uri_encode(_utf8(normalised, "url.path"), keep_slash=True)


def _canonical_query(query: str) -> str:
    # Names and values are decoded, then encoded with the unreserved set (space -> %20),
    # and sorted by encoded name, then encoded value.
    pairs: List[Tuple[str, str]] = []
    for piece in query.split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        pairs.append(
            (
                uri_encode(unquote_to_bytes(_utf8(name, "url.query"))),
                uri_encode(unquote_to_bytes(_utf8(value, "url.query"))),
            )
        )
    pairs.sort()
    return "&".join(f"{name}={value}" for name, value in pairs)


def _host(url_host: str, scheme: str, port: Optional[int]) -> str:
    host = url_host.lower()
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    return host


def _signed_headers(headers: Headers, default_host: str) -> Dict[str, str]:
    grouped: Dict[str, List[str]] = {}
    for name, value in headers.items():
        low = name.lower()
        if low in _UNSIGNED_HEADERS:
            continue
        # "Trimall": strip, and fold every run of whitespace inside the value to one space.
        grouped.setdefault(low, []).append(" ".join(value.split()))
    if "host" not in grouped:
        grouped["host"] = [default_host]
    return {name: ",".join(values) for name, values in sorted(grouped.items())}


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret_access_key: str, date_stamp: str, region: str, service: str) -> bytes:
    """The derived key: HMAC chain over the date, region, service and ``aws4_request``."""
    k_date = _hmac(f"AWS4{secret_access_key}".encode(), date_stamp)
    k_region = _hmac(k_date, region)
    k_service = _hmac(k_region, service)
    return _hmac(k_service, "aws4_request")


def _utc(now: datetime) -> datetime:
    if now.tzinfo is None:
        return now.replace(tzinfo=timezone.utc)
    return now.astimezone(timezone.utc)


def sign_request(
    method: str,
    url: str,
    headers: HeadersLike,
    body: bytes,
    *,
    credentials: AwsCredentials,
    region: str,
    service: str,
    now: datetime,
) -> Headers:
    """Sign one request; return its headers with ``X-Amz-Date`` and ``Authorization`` added.

    ``url`` is the absolute URL exactly as it will be sent (query included); ``body``
    the exact bytes. ``now`` is the signing time (a naive datetime is taken as UTC).
    With a session token ``X-Amz-Security-Token`` is added and signed. When
    ``X-Amz-Content-SHA256`` is already present its value stands for the payload hash.
    The input headers are not modified.
    """
    if not region or not service:
        raise ConfigurationError("SigV4 signing needs a region and a service name")
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        raise EncodeError("aws_sigv4", "url", "expected an absolute URL")
    stamp = _utc(now)
    amz_date = stamp.strftime("%Y%m%dT%H%M%SZ")
    date_stamp = amz_date[:8]

    out = Headers([(k, v) for k, v in as_headers(headers).items() if k.lower() not in _SIGNER_HEADERS])
    out["X-Amz-Date"] = amz_date
    if credentials.session_token:
        out["X-Amz-Security-Token"] = credentials.session_token

    signed = _signed_headers(out, _host(parts.hostname, parts.scheme, parts.port))
    signed_names = ";".join(signed)
    declared = out.get("x-amz-content-sha256")
    payload_hash = declared if declared is not None else hashlib.sha256(body).hexdigest()
    canonical = "\n".join(
        [
            method.upper(),
            _canonical_uri(parts.path),
            _canonical_query(parts.query),
            "".join(f"{name}:{value}\n" for name, value in signed.items()),
            signed_names,
            payload_hash,
        ]
    )
    scope = f"{date_stamp}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()])
    key = signing_key(credentials.secret_access_key, date_stamp, region, service)
    signature = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    out["Authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key_id}/{scope}, "
        f"SignedHeaders={signed_names}, Signature={signature}"
    )
    return out
