"""The journal: what was received, with which token state, and what was answered."""

from __future__ import annotations

import aiohttp

from worker.sandbox import Journal, JournalEntry, Sandbox

SECRET = "s3cret-demo-secret"


def _entry(method: str = "GET", path: str = "/x", status: int = 200) -> JournalEntry:
    return JournalEntry(method, path, {}, {}, "missing", status, 0.0)


async def _token(session: aiohttp.ClientSession, sandbox: Sandbox) -> str:
    form = {"grant_type": "client_credentials", "client_id": "demo", "client_secret": SECRET}
    async with session.post(sandbox.api_url + "/oauth/token", data={**form, "scope": "read"}) as r:
        token: str = (await r.json())["access_token"]
        return token


def test_matching_filters_by_method_and_path_substring() -> None:
    """matching() selects by method in any case and by a part of the path."""
    journal = Journal()
    for entry in (_entry("GET", "/a/cmf/x"), _entry("PUT", "/a/cmf/y"), _entry("GET", "/a/core")):
        journal.record(entry)
    assert [e.path for e in journal.matching(method="get", path="/cmf/")] == ["/a/cmf/x"]
    assert len(journal.matching(path="/a/")) == 3
    journal.clear()
    assert journal.entries == []


def test_a_bounded_journal_keeps_the_newest_entries() -> None:
    """With max_entries the oldest entries are dropped first."""
    journal = Journal(max_entries=2)
    for status in (200, 201, 202):
        journal.record(_entry(status=status))
    assert [e.status for e in journal.entries] == [201, 202]


def test_listeners_hear_each_entry_with_its_duration() -> None:
    """add_listener() receives every later entry and how long it took."""
    journal, heard = Journal(), []
    journal.add_listener(lambda entry, duration: heard.append((entry.status, duration)))
    journal.record(_entry(status=204), 0.25)
    assert heard == [(204, 0.25)]


def test_repr_shows_header_and_form_names_but_no_values() -> None:
    """A failing assertion that prints an entry does not print tokens or secrets."""
    entry = JournalEntry(
        "POST",
        "/t",
        {"Authorization": "Bearer tok-123456"},
        {"client_secret": SECRET},
        "valid",
        200,
        1.0,
    )
    text = repr(entry)
    assert "Authorization" in text
    assert "client_secret" in text
    assert "tok-123456" not in text
    assert SECRET not in text


async def test_requests_are_recorded_with_headers_form_and_status(sandbox: Sandbox) -> None:
    """A token request and an API call appear with what was sent and what was answered."""
    async with aiohttp.ClientSession() as session:
        token = await _token(session, sandbox)
        headers = {"Authorization": f"Bearer {token}", "X-BOOKYFLOW-channel-name": "acme"}
        async with session.get(sandbox.api_url + "/cmf/versions", headers=headers) as response:
            await response.read()
    token_request, versions = sandbox.journal.entries
    assert (token_request.method, token_request.path) == ("POST", "/bookyflow/api/oauth/token")
    assert token_request.form["client_id"] == "demo"
    assert token_request.token_state == "missing"
    assert token_request.status == 200
    assert versions.headers["x-bookyflow-channel-name"] == "acme"
    assert versions.headers["Authorization"] == f"Bearer {token}"
    assert versions.token_state == "valid"
    assert versions.status == response.status
    assert versions.form == {}


async def test_token_state_is_taken_before_the_handler_runs(sandbox: Sandbox) -> None:
    """A request with an expired token is journaled as 'expired' and answered 401."""
    async with aiohttp.ClientSession() as session:
        token = await _token(session, sandbox)
        assert sandbox.tokens.expire_all() == 1
        headers = {"Authorization": f"Bearer {token}"}
        async with session.get(sandbox.api_url + "/cmf/versions", headers=headers) as response:
            assert response.status == 401
    entry = sandbox.journal.matching(path="/cmf/versions")[0]
    assert (entry.token_state, entry.status) == ("expired", 401)


async def test_faulted_requests_are_journaled_too(sandbox: Sandbox) -> None:
    """A request answered by the proxy appears with the proxy's status."""
    sandbox.faults.fail_next(502)
    async with (
        aiohttp.ClientSession() as session,
        session.get(sandbox.api_url + "/core/endpoints") as response,
    ):
        assert response.status == 502
    assert [e.status for e in sandbox.journal.entries] == [502]
