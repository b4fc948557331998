"""Contract of the token endpoint and of bearer-token use (spec §2, seed authentication.txt)."""

from __future__ import annotations

import base64
import json

import pytest

from tests.sandbox.conftest import CHANNEL, DEMO, READER, Api, FakeWallClock
from worker.sandbox.store import SandboxStore

FORM = {"grant_type": "client_credentials", "client_id": DEMO.client_id,
        "client_secret": DEMO.secret, "scope": "read write"}  # fmt: skip


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


async def test_seed_curl_example_answers_as_the_seed_shows(api: Api) -> None:
    """The seed's form token request gets a 3600 s Bearer token usable on an announced CMF call."""
    status, body, headers = await api.call("POST", "/oauth/token", form=FORM)
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert isinstance(body["access_token"], str)
    assert len(body["access_token"]) >= 32
    assert body["scope"] == "read write"
    api.token = body["access_token"]
    status, body, _ = await api.call("GET", f"/cmf/channel/announce/{CHANNEL}")
    assert (status, body["data"], body["meta"]["code"]) == (200, {"response": 0}, 200)
    form = {"params": "{}"}
    status, body, _ = await api.call("POST", f"/cmf/channel/announce/{CHANNEL}/OTA", form=form)
    channel_id = body["data"]["response"]
    assert status == 200
    assert isinstance(channel_id, int)
    assert channel_id > 0
    api.channel = CHANNEL
    assert (await api.cmf("GET", "/cmf/versions"))["Jomres"] == "10.7.2"


async def test_seed_error_bodies_for_missing_token_and_scope(api: Api) -> None:
    """401 and 403 bodies are exactly the seed's, with the WWW-Authenticate challenges."""
    status, body, headers = await api.call("GET", "/cmf/versions")
    assert status == 401
    assert body == {"error": "unauthorized", "error_description": "Invalid or expired token"}
    assert headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    api.token = await api.fetch_token(scope="read")
    status, body, headers = await api.call("PUT", "/cmf/property/publish", form={})
    assert status == 403
    assert body == {"error": "forbidden", "error_description": "Insufficient scope"}
    assert headers["WWW-Authenticate"] == 'Bearer error="insufficient_scope", scope="write"'


async def test_basic_client_authentication_is_accepted(api: Api) -> None:
    """HTTP Basic replaces the two form fields; a wrong secret over Basic is a 401."""
    form = {"grant_type": "client_credentials", "scope": "read"}
    status, body, _ = await api.call(
        "POST", "/oauth/token", form=form, headers={"Authorization": _basic("demo", DEMO.secret)}
    )
    assert status == 200
    assert body["scope"] == "read"
    status, body, headers = await api.call(
        "POST", "/oauth/token", form=form, headers={"Authorization": _basic("demo", "wrong")}
    )
    assert (status, body["error"]) == (401, "invalid_client")
    assert "WWW-Authenticate" in headers


@pytest.mark.parametrize(
    ("changes", "status", "error"),
    [
        ({"client_secret": "wrong"}, 400, "invalid_client"),
        ({"client_id": "nobody"}, 400, "invalid_client"),
        ({"client_secret": ""}, 400, "invalid_client"),
        ({"client_id": ""}, 400, "invalid_client"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"grant_type": ""}, 400, "invalid_request"),
        ({"scope": ""}, 400, "invalid_scope"),
        ({"scope": "admin superuser"}, 400, "invalid_scope"),
    ],
)
async def test_token_error_table(
    api: Api, changes: dict[str, str], status: int, error: str
) -> None:
    """Each row of the spec's token error table answers its status and RFC 6749 error code."""
    got_status, body, _ = await api.call("POST", "/oauth/token", form={**FORM, **changes})
    assert (got_status, body["error"]) == (status, error)
    assert body["error_description"]
    assert DEMO.secret not in str(body)


async def test_get_on_token_endpoint_is_405(api: Api) -> None:
    """The token endpoint only takes POST."""
    status, body, _ = await api.call("GET", "/oauth/token")
    assert (status, body["error"]) == (405, "invalid_request")


async def test_granted_scope_is_requested_intersect_allowed(api: Api) -> None:
    """A scope the client is not allowed is silently not granted."""
    form = {**FORM, "client_id": READER.client_id, "client_secret": READER.secret,
            "scope": "read write delete"}  # fmt: skip
    status, body, _ = await api.call("POST", "/oauth/token", form=form)
    assert (status, body["scope"]) == (200, "read")


async def test_tokens_are_opaque_distinct_and_all_valid(api: Api, store: SandboxStore) -> None:
    """A new token does not revoke older unexpired ones."""
    first, second = await api.fetch_token(), await api.fetch_token()
    assert first != second
    for token in (first, second):
        assert store.token_state(f"Bearer {token}") == "valid"
        status, _, _ = await api.call(
            "GET", f"/cmf/channel/announce/{CHANNEL}", headers={"Authorization": f"Bearer {token}"}
        )
        assert status == 200


async def test_token_expires_on_the_wall_clock(
    api: Api, store: SandboxStore, clock: FakeWallClock
) -> None:
    """A token is valid for token_ttl_s on the injected clock, then answers 401."""
    store.token_ttl_s = 60
    api.token = await api.fetch_token()
    clock.advance(59)
    assert (await api.call("GET", "/cmf/channel/announce/x"))[0] == 200
    clock.advance(1)
    assert store.token_state(f"Bearer {api.token}") == "expired"
    assert (await api.call("GET", "/cmf/channel/announce/x"))[0] == 401


async def test_token_states_for_the_journal(api: Api, store: SandboxStore) -> None:
    """token_state tells missing, unknown, valid, revoked and expired apart."""
    assert store.token_state(None) == "missing"
    assert store.token_state("Bearer not-a-token") == "unknown"
    assert store.token_state("Basic abc") == "unknown"
    first = await api.fetch_token()
    assert store.token_state(f"bearer {first}") == "valid"
    assert store.revoke_all_tokens() == 1
    assert store.token_state(f"Bearer {first}") == "revoked"
    second = await api.fetch_token()
    assert store.expire_all_tokens() == 1
    assert store.token_state(f"Bearer {second}") == "expired"
    api.token = second
    assert (await api.call("GET", "/cmf/versions"))[0] == 401


async def test_token_in_query_string_is_not_accepted(api: Api) -> None:
    """Only the Authorization header carries the token."""
    token = await api.fetch_token()
    status, _, _ = await api.call("GET", f"/cmf/channel/announce/x?access_token={token}")
    assert status == 401


@pytest.mark.parametrize(
    ("method", "path", "needed"),
    [
        ("GET", "/cmf/properties/ids", "read"),
        ("POST", "/cmf/property", "write"),
        ("PUT", "/cmf/property/prices", "write"),
        ("DELETE", "/cmf/property/local/1", "delete"),
    ],
)
async def test_scope_by_method(api: Api, method: str, path: str, needed: str) -> None:
    """GET needs read, POST/PUT write, DELETE delete."""
    scopes = {"read", "write", "delete"} - {needed}
    api.token = await api.fetch_token(scope=" ".join(sorted(scopes)))
    status, _body, headers = await api.call(method, path, form={} if method != "GET" else None)
    assert status == 403
    assert headers["WWW-Authenticate"].endswith(f'scope="{needed}"')


async def test_auth_free_endpoints_need_no_token(api: Api) -> None:
    """/core/endpoints lists every route and /core/get_properties the published properties."""
    status, body, _ = await api.call("GET", "/core/endpoints")
    routes = body["data"]["response"]
    assert status == 200
    assert {"method": "PUT", "endpoint": "/cmf/reservations/add"} in routes
    assert {"method": "POST", "endpoint": "/oauth/token"} in routes
    assert {"method": "GET", "endpoint": "/cmf/property/@property_uid"} in routes
    status, body, _ = await api.call("GET", "/core/get_properties")
    assert (status, body["data"]["response"]) == (200, [])


# the real engine's own authentication (engine_auth) -------------------------------------------

ENGINE_CHALLENGE = 'Bearer realm="Service", error="{}", error_description="{}"'


@pytest.fixture
def engine_auth(store: SandboxStore) -> SandboxStore:
    store.engine_auth = True
    store.token_ttl_s = 31_536_000
    return store


async def test_engine_auth_grants_channel_management_for_a_year(
    api: Api, engine_auth: SandboxStore
) -> None:
    """Whatever was asked (or nothing), the token is channel_management for 31536000 s, and it
    passes every method's scope check."""
    for scope in ("read", ""):
        status, body, _ = await api.call("POST", "/oauth/token", form={**FORM, "scope": scope})
        assert (status, body["scope"], body["expires_in"]) == (200, "channel_management", 31536000)
        assert list(body) == ["access_token", "expires_in", "token_type", "scope"]
    api.token = body["access_token"]
    assert (await api.call("DELETE", "/cmf/property/local/1"))[0] == 400  # past the scope check


@pytest.mark.parametrize(
    ("authorization", "error", "description"),
    [
        (None, "invalid_request", "No authentication is provided. Bearer missing from headers? "
         "Check https://www.jomres.net/manual/developers-guide-2/63-jomres-api/"
         "418-the-rest-api-test-fails "),
        ("Basic abc", "invalid_request", "Malformed auth header"),
        ("Bearer nope", "invalid_token", "The access token provided is invalid"),
    ],
)  # fmt: skip
async def test_engine_auth_401_bodies(
    api: Api, engine_auth: SandboxStore, authorization: str | None, error: str, description: str
) -> None:
    """Missing, malformed and unknown tokens get the real engine's bodies and challenges."""
    headers = {"Authorization": authorization} if authorization else {}
    status, body, response_headers = await api.call("GET", "/cmf/versions", headers=headers)
    assert (status, body) == (401, {"error": error, "error_description": description})
    assert response_headers["WWW-Authenticate"] == ENGINE_CHALLENGE.format(error, description)


async def test_engine_auth_expired_and_revoked_tokens(api: Api, engine_auth: SandboxStore) -> None:
    """An expired token says so; a revoked one is simply invalid."""
    api.token = await api.fetch_token()
    engine_auth.expire_all_tokens()
    _status, body, _ = await api.call("GET", "/cmf/versions")
    assert body["error_description"] == "The access token provided has expired"
    api.token = await api.fetch_token()
    engine_auth.revoke_all_tokens()
    _status, body, _ = await api.call("GET", "/cmf/versions")
    assert body["error_description"] == "The access token provided is invalid"


async def test_engine_auth_wrong_secret_has_a_php_notice(
    api: Api, engine_auth: SandboxStore
) -> None:
    """invalid_client is 400 with the JSON and then the PHP notice the real logger prints."""
    status, body, _ = await api.call("POST", "/oauth/token", form={**FORM, "client_secret": "x"})
    assert status == 400
    document, end = json.JSONDecoder().raw_decode(body)
    assert document == {"error": "invalid_client",
                        "error_description": "The client credentials are invalid"}  # fmt: skip
    assert body[end:].startswith("<br />\n<b>Deprecated</b>")
