"""AWS SigV4: our standard-library signer against botocore's SigV4Auth, byte for byte."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from typing import Dict, List, Optional, Tuple
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omnillm.errors import ConfigurationError, EncodeError
from omnillm.http import Bytes, Headers, TransportRequest
from omnillm.providers import AwsCredentials, ProviderSettings, embedded_provider_registry, prepare_request
from omnillm.providers.sigv4 import sign_request, signing_key

botocore = pytest.importorskip("botocore")
from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.compat import HTTPHeaders  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402
from sdk_server import serve  # noqa: E402

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
VECTOR_URL = "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"
VECTOR_BODY = b'{"messages":[{"role":"user","content":[{"text":"Hi"}]}]}'
VECTOR_TIME = datetime(2025, 1, 1, tzinfo=timezone.utc)


def amz_time(value: str) -> datetime:
    return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)


def botocore_sign(
    method: str,
    url: str,
    headers: List[Tuple[str, str]],
    body: bytes,
    creds: AwsCredentials,
    region: str,
    service: str,
    params: Optional[List[Tuple[str, str]]] = None,
) -> Dict[str, List[str]]:
    """Sign with botocore; return its final headers (lower-case name -> values)."""
    given_headers = HTTPHeaders()
    for name, value in headers:
        given_headers[name] = value  # HTTPMessage appends: repeated names stay repeated
    request = AWSRequest(method=method, url=url, headers=given_headers, data=body, params=params or {})
    SigV4Auth(Credentials(creds.access_key_id, creds.secret_access_key, creds.session_token), service, region).add_auth(
        request
    )
    out: Dict[str, List[str]] = {}
    for name, value in request.headers.items():
        out.setdefault(name.lower(), []).append(value)
    return out


def as_dict(headers: Headers) -> Dict[str, List[str]]:
    out: Dict[str, List[str]] = {}
    for name, value in headers.items():
        out.setdefault(name.lower(), []).append(value)
    return out


# --------------------------------------------------------------------------- fixed vectors


def test_reference_vector_from_the_notes() -> None:
    signed = sign_request(
        "POST",
        VECTOR_URL,
        {"Content-Type": "application/json"},
        VECTOR_BODY,
        credentials=AwsCredentials(AKID, SECRET),
        region="us-east-1",
        service="bedrock",
        now=VECTOR_TIME,
    )
    assert signed["X-Amz-Date"] == "20250101T000000Z"
    assert signed["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-east-1/bedrock/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date, "
        "Signature=db14fde81dd9dc90455352ed1921f98b151795af03aacc8312c89b08b8d50a36"
    )
    assert "X-Amz-Security-Token" not in signed


def test_signing_key_chain_matches_the_notes() -> None:
    key = signing_key(SECRET, "20250101", "us-east-1", "bedrock")
    assert key.hex() == "c27e311b7b87de48214ea763bf3f6bd9824a54ab54fdf0033dac588a75009fc1"


def test_session_token_is_sent_and_signed() -> None:
    creds = AwsCredentials(AKID, SECRET, "SESSION/TOKEN+=")
    theirs = botocore_sign(
        "POST", VECTOR_URL, [("Content-Type", "application/json")], VECTOR_BODY, creds, "us-east-1", "bedrock"
    )
    ours = sign_request(
        "POST",
        VECTOR_URL,
        {"Content-Type": "application/json"},
        VECTOR_BODY,
        credentials=creds,
        region="us-east-1",
        service="bedrock",
        now=amz_time(theirs["x-amz-date"][0]),
    )
    assert ours["X-Amz-Security-Token"] == "SESSION/TOKEN+="
    assert "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token," in ours["Authorization"]
    assert [ours["Authorization"]] == theirs["authorization"]


def test_naive_datetimes_are_utc_and_aware_ones_are_converted() -> None:
    creds = AwsCredentials(AKID, SECRET)
    args = ("POST", VECTOR_URL, {"Content-Type": "application/json"}, VECTOR_BODY)
    utc = sign_request(*args, credentials=creds, region="us-east-1", service="bedrock", now=VECTOR_TIME)
    naive = sign_request(
        *args, credentials=creds, region="us-east-1", service="bedrock", now=VECTOR_TIME.replace(tzinfo=None)
    )
    paris = sign_request(
        *args,
        credentials=creds,
        region="us-east-1",
        service="bedrock",
        now=VECTOR_TIME.astimezone(timezone(timedelta(hours=1))),
    )
    assert utc["Authorization"] == naive["Authorization"] == paris["Authorization"]


def test_input_headers_are_not_modified_and_stale_auth_is_replaced() -> None:
    given_headers = Headers([("Content-Type", "application/json"), ("Authorization", "old"), ("X-Amz-Date", "old")])
    signed = sign_request(
        "POST",
        VECTOR_URL,
        given_headers,
        VECTOR_BODY,
        credentials=AwsCredentials(AKID, SECRET),
        region="us-east-1",
        service="bedrock",
        now=VECTOR_TIME,
    )
    assert given_headers.get_all("authorization") == ["old"]
    assert signed.get_all("authorization") == [
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-east-1/bedrock/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date, "
        "Signature=db14fde81dd9dc90455352ed1921f98b151795af03aacc8312c89b08b8d50a36"
    ]
    assert signed.get_all("x-amz-date") == ["20250101T000000Z"]


def test_relative_urls_and_missing_region_are_rejected() -> None:
    creds = AwsCredentials(AKID, SECRET)
    with pytest.raises(EncodeError, match="aws_sigv4: url"):
        sign_request("POST", "/model/x/converse", {}, b"", credentials=creds, region="r", service="s", now=VECTOR_TIME)
    with pytest.raises(ConfigurationError, match="region"):
        sign_request("POST", VECTOR_URL, {}, b"", credentials=creds, region="", service="bedrock", now=VECTOR_TIME)


def test_credentials_never_show_in_repr() -> None:
    creds = AwsCredentials("AKIAIOSFODNN7EXAMPLE", "very-secret-key", "session-secret")
    text = repr(creds) + str(creds)
    for secret in ("AKIAIOSFODNN7EXAMPLE", "very-secret-key", "session-secret"):
        assert secret not in text
    signed = sign_request(
        "GET", VECTOR_URL, {}, b"", credentials=creds, region="us-east-1", service="bedrock", now=VECTOR_TIME
    )
    assert "session-secret" not in repr(signed)
    assert "Signature=" not in repr(signed)


# --------------------------------------------------------------------------- generated requests

_SEGMENT_CHARS = st.characters(
    blacklist_categories=("Cs", "Cc"),  # no surrogates, no control characters
    blacklist_characters="?#",  # these end a URL path
)
_segments = st.one_of(
    st.text(_SEGMENT_CHARS, max_size=12),
    st.sampled_from([".", "..", "", "anthropic.claude-3-haiku-20240307-v1:0", "a b", "ü€𝄞", "%41", "~x", "a+b"]),
)
_query_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)
_header_value = st.text(st.sampled_from(list("abcXYZ019 -_/=;,:\t\"'{}")), max_size=20)
_header_names = st.sampled_from(
    [
        "Content-Type",
        "content-type",
        "CONTENT-TYPE",
        "Accept",
        "X-Amz-Target",
        "x-custom",
        "X-Custom",
        "X-Amzn-Bedrock-Trace",
        "anthropic-beta",
        "User-Agent",
        "Connection",
        "Expect",
        "X-Amzn-Trace-Id",
        "Transfer-Encoding",
        "TE",
        "Keep-Alive",
        "Upgrade",
        "Trailer",
        "Proxy-Authorization",
        "Proxy-Authenticate",
        "Authorization",
        "X-Amz-Date",
        "X-Amz-Security-Token",
    ]
)
_bases = st.sampled_from(
    [
        "https://bedrock-runtime.us-east-1.amazonaws.com",
        "https://bedrock-runtime.eu-central-1.amazonaws.com",
        "https://BEDROCK-runtime.us-west-2.amazonaws.com:443",
        "http://127.0.0.1:8080",
        "http://localhost",
        "https://[::1]:8443",
    ]
)


@st.composite
def signed_requests(draw: st.DrawFn) -> Dict[str, object]:
    base = draw(_bases)
    raw_segments = draw(st.lists(_segments, max_size=5))
    # Segments reach the URL either percent-encoded (as a client sends them) or raw.
    encoded = draw(st.booleans())
    safe = draw(st.sampled_from(["", ":", "/:@", "!$&'()*+,;=:@"]))
    path = "/" + "/".join(quote(s, safe=safe) if encoded else s for s in raw_segments)
    if draw(st.booleans()):
        path += "/"
    names = st.sampled_from(["a", "B", "z", "model", "x y", "ü", "a&b", "k=v", ""]) | _query_text
    query = draw(st.lists(st.tuples(names, _query_text), max_size=6))
    headers = draw(st.lists(st.tuples(_header_names, _header_value), max_size=8))
    body = draw(st.one_of(st.just(b""), st.binary(max_size=64), st.just(VECTOR_BODY)))
    if draw(st.booleans()) and headers:
        headers.append(("X-Amz-Content-SHA256", hashlib.sha256(body).hexdigest()))
    token = draw(st.one_of(st.none(), st.text(st.sampled_from(list("AbZ09/+=")), min_size=1, max_size=24)))
    secret = draw(st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40))
    return {
        "method": draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "post"])),
        "base": base,
        "path": path,
        "query": query,
        "headers": headers,
        "body": body,
        "creds": AwsCredentials(draw(st.sampled_from([AKID, "AKIAIOSFODNN7EXAMPLE"])), secret, token),
        "region": draw(st.sampled_from(["us-east-1", "eu-west-3", "ap-southeast-2"])),
        "service": draw(st.sampled_from(["bedrock", "bedrock", "execute-api"])),
    }


def _compare(case: Dict[str, object], url: str, params: Optional[List[Tuple[str, str]]]) -> None:
    method, body, creds = str(case["method"]), case["body"], case["creds"]
    headers = case["headers"]
    region, service = str(case["region"]), str(case["service"])
    assert isinstance(body, bytes) and isinstance(creds, AwsCredentials) and isinstance(headers, list)
    theirs = botocore_sign(method, url, headers, body, creds, region, service, params)
    if params:
        # botocore signed the parameters; we sign the URL they are sent in.
        url = url + "?" + "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in params)
    ours = sign_request(
        method,
        url,
        headers,
        body,
        credentials=creds,
        region=region,
        service=service,
        now=amz_time(theirs["x-amz-date"][0]),
    )
    mine = as_dict(ours)
    assert mine["authorization"] == theirs["authorization"]
    assert mine["x-amz-date"] == theirs["x-amz-date"]
    assert mine.get("x-amz-security-token") == theirs.get("x-amz-security-token")
    assert mine.get("x-amz-content-sha256") == theirs.get("x-amz-content-sha256")
    assert mine == theirs


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(signed_requests())
def test_matches_botocore_with_the_query_in_the_url(case: Dict[str, object]) -> None:
    query = case["query"]
    assert isinstance(query, list)
    url = f"{case['base']}{case['path']}"
    if query:
        # The URL carries the query encoded the way AWS SDKs send it (RFC 3986, %20).
        url += "?" + "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in query)
    _compare(case, url, None)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(signed_requests())
def test_matches_botocore_with_query_parameters(case: Dict[str, object]) -> None:
    query = case["query"]
    assert isinstance(query, list)
    _compare(case, f"{case['base']}{case['path']}", [(str(k), str(v)) for k, v in query] or None)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["b", "a", "c"]), st.sampled_from(["2", "1", "", "x y"])), max_size=6),
    st.booleans(),
)
def test_repeated_unsorted_params_and_bare_names(pairs: List[Tuple[str, str]], bare: bool) -> None:
    creds = AwsCredentials(AKID, SECRET)
    pieces = [k if bare and not v else f"{k}={quote(v, safe='-_.~')}" for k, v in pairs]
    url = VECTOR_URL + ("?" + "&".join(pieces) if pieces else "")
    theirs = botocore_sign("GET", url, [], b"", creds, "us-east-1", "bedrock")
    ours = sign_request(
        "GET",
        url,
        {},
        b"",
        credentials=creds,
        region="us-east-1",
        service="bedrock",
        now=amz_time(theirs["x-amz-date"][0]),
    )
    assert [ours["Authorization"]] == theirs["authorization"]


def test_lower_case_hex_and_spare_escapes_in_the_url_are_normalised() -> None:
    # AWS canonicalises the query it receives; %7e and %7E and ~ are all the same "~".
    creds = AwsCredentials(AKID, SECRET)
    args = {"credentials": creds, "region": "us-east-1", "service": "bedrock", "now": VECTOR_TIME}
    a = sign_request("GET", VECTOR_URL + "?k=%7e%2f", {}, b"", **args)  # type: ignore[arg-type]
    b = sign_request("GET", VECTOR_URL + "?k=~%2F", {}, b"", **args)  # type: ignore[arg-type]
    assert a["Authorization"] == b["Authorization"]


# --------------------------------------------------------------------------- what botocore sends to bedrock-runtime

CONVERSE_ANSWER = json.dumps(
    {
        "output": {"message": {"role": "assistant", "content": [{"text": "hi"}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
        "metrics": {"latencyMs": 1},
    }
)


@pytest.mark.parametrize("token", [None, "FwoGZXIvYXdzEJr//////////wEaDExample"])
def test_bedrock_runtime_client_request_is_what_we_sign(monkeypatch: pytest.MonkeyPatch, token: Optional[str]) -> None:
    import botocore.session

    for name in ("AWS_BEARER_TOKEN_BEDROCK", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    creds = AwsCredentials(AKID, SECRET, token)
    model_id = "anthropic.claude-3-haiku-20240307-v1:0"
    with serve(CONVERSE_ANSWER, "application/json") as server:
        client = botocore.session.get_session().create_client(
            "bedrock-runtime",
            region_name="us-east-1",
            endpoint_url=server.base_url,
            aws_access_key_id=AKID,
            aws_secret_access_key=SECRET,
            aws_session_token=token,
        )
        client.converse(modelId=model_id, messages=[{"role": "user", "content": [{"text": "Hi"}]}])
        client.close()
        assert len(server.requests) == 1
        method, path, sent, body = server.requests[0]

        # botocore's facts for bedrock-runtime: service "bedrock", model id encoded in
        # the path, no x-amz-content-sha256 header, the token sent and signed.
        lower = {k.lower(): v for k, v in sent.items()}
        assert method == "POST"
        assert path == "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"
        assert "/us-east-1/bedrock/aws4_request" in lower["authorization"]
        assert "x-amz-content-sha256" not in lower
        assert lower.get("x-amz-security-token") == token

        # botocore signs before its HTTP layer adds content-length, accept-encoding and
        # the amz-sdk-* headers; only content-type, host and the x-amz-* ones are signed.
        signed_names = lower["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
        expected = ["content-type", "host", "x-amz-date"] + (["x-amz-security-token"] if token else [])
        assert signed_names == expected

        # Re-sign what botocore signed with our signer, at the time botocore chose.
        resent = [(k, v) for k, v in sent.items() if k.lower() in signed_names and k.lower() != "host"]
        ours = sign_request(
            method,
            server.base_url + path,
            resent,
            body,
            credentials=creds,
            region="us-east-1",
            service="bedrock",
            now=amz_time(lower["x-amz-date"]),
        )
        assert ours["Authorization"] == lower["authorization"]

        # And prepare_request, fed the same bytes and headers, signs the same way.
        spec = embedded_provider_registry()["bedrock"]
        request = TransportRequest(
            "POST",
            "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse",
            headers=resent,
            body=Bytes(body, lower["content-type"]),
        )
        prepared = prepare_request(
            spec,
            request,
            wire_format="bedrock_converse",
            credentials=creds,
            settings=ProviderSettings(base_url=server.base_url, region="us-east-1"),
            now=amz_time(lower["x-amz-date"]),
        )
        assert prepared.full_url() == server.base_url + path
        assert prepared.body_bytes() == body
        assert prepared.headers["Authorization"] == lower["authorization"]
