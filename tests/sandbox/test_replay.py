"""Replay of the real engine's transcripts: every recorded request, sent to the sandbox, must be
answered with the real status, error texts and shape (spec: "the real engine is right").

The transcripts are read from ``../shared/real-engine/transcripts`` at test time, so new ones are
checked as they arrive (a case without a scenario fails and says so), and so are the ones of the
endpoints ``../shared`` lacks that ``tests/live/capture_transcripts.py`` captured into
``tests/fixtures/transcripts``. Each case starts a fresh
sandbox on loopback whose clock is the capture time, builds the state the example assumes
(``replay_scenarios``), rewrites the real request onto it (``replay_site``) and compares the
answers (``replay_shape``). The sandbox runs in its default mode; the cases whose real answer is
the real engine's own authentication (its 401 bodies, its ``invalid_client`` with a PHP notice)
run with ``engine_auth`` on, because the default keeps the seed's authentication by design.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.sandbox import (  # noqa: F401 - importing them registers their scenarios
    replay_capture,
    replay_probe,
)
from tests.sandbox.replay_scenarios import SCENARIOS
from tests.sandbox.replay_shape import differences, parse_prefix
from tests.sandbox.replay_site import (
    API,
    CHANNEL_HEADER,
    CLIENT_ID,
    REAL_CHANNEL_HEADER,
    SECRET,
    Case,
    Clock,
    ReplaySite,
    rewrite_form,
    rewrite_path,
    start_image_server,
)
from worker.sandbox import ClientSpec, Sandbox

TRANSCRIPTS = Path(__file__).parents[2].parent / "shared/real-engine/transcripts"
# Real answers of the endpoints ../shared lacks, captured by tests/live/capture_transcripts.py.
CAPTURED = Path(__file__).parents[1] / "fixtures/transcripts"
# Without ../shared (a fresh CI machine) the captured fixtures are still replayed.
SHARED = TRANSCRIPTS.is_dir()

# How much of a cut body must match a full body given beside it to stand for that example.
PREFIX = 1500
LOGGER_500 = "format() on bool"
_H3 = re.compile(r"<h3>(.*?)</h3>", re.S)


def _full_bodies(doc: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f["file"], json.dumps(f["body"], separators=(",", ":")))
            for f in doc.get("full_response_bodies", [])]  # fmt: skip


def _is_cut(body: str) -> bool:
    """A JSON body that does not parse to its end was cut at the transcript's 2 KB."""
    if not body.lstrip().startswith(("{", "[")):
        return False
    try:
        json.JSONDecoder().raw_decode(body)
    except ValueError:
        return True
    return False


def _same_answer(full: str, recorded: str, *, cut: bool) -> bool:
    """Whether a full body given beside the examples is this example's answer."""
    if cut:  # PHP escapes "/" as "\\/", Python does not
        return full[:PREFIX] == recorded.replace("\\/", "/")[:PREFIX]
    try:
        return bool(json.loads(full) == json.loads(recorded))
    except ValueError:
        return False


def _cases_of(path: Path) -> Iterator[Case]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    _, _, template = doc["endpoint"].partition(" ")
    fulls = _full_bodies(doc)
    used: set[str] = set()
    for index, example in enumerate(doc["examples"]):
        body = example["response_body"]
        cut = _is_cut(body)
        match = next((f for f in fulls if _same_answer(f[1], body, cut=cut)), None)
        if match is not None:
            used.add(match[0])
            body, cut = match[1], False
        yield Case(f"{path.stem}[{index}]", template, example["method"],
                   example["path"].removeprefix(API), example["request_headers"],
                   example["request_form"], example["ts"], example["status"],
                   example["response_headers"], body, cut)  # fmt: skip
    last = doc["examples"][-1]
    for name, body in fulls:
        if name not in used:  # a later state of the same endpoint: its request is in meta.site
            site = json.loads(body)["meta"]["site"]
            yield Case(f"{path.stem}[{name}]", template, site["method"], site["url"],
                       last["request_headers"], None, last["ts"], 200,
                       {"Content-Type": "application/json"}, body, False)  # fmt: skip


def _all_cases() -> list[Case]:
    shared = sorted(TRANSCRIPTS.glob("*.json")) if SHARED else []
    files = shared + sorted(CAPTURED.glob("*.json"))
    return [case for path in files for case in _cases_of(path)]


CASES = _all_cases()


def _engine_auth(case: Case) -> bool:
    """The real engine's own auth answers: 401s and the token endpoint's refusals."""
    return case.status == 401 or (case.path == "/oauth/token" and case.status != 200)


@pytest.fixture
async def site_for(request: pytest.FixtureRequest) -> AsyncIterator[ReplaySite]:
    case: Case = request.param
    runner, images = await start_image_server()
    clock = Clock(case.at)
    client = ClientSpec(CLIENT_ID, SECRET, ("read", "write", "delete"))
    sandbox = Sandbox(clients=[client], wall_clock=clock, engine_auth=_engine_auth(case))
    await sandbox.start()
    try:
        async with aiohttp.ClientSession() as session:
            yield ReplaySite(sandbox, session, clock, images)
    finally:
        await sandbox.close()
        await runner.cleanup()


def _request_headers(case: Case, site: ReplaySite) -> dict[str, str]:
    headers = {}
    if REAL_CHANNEL_HEADER in case.headers:
        headers[CHANNEL_HEADER] = case.headers[REAL_CHANNEL_HEADER]
    if "Authorization" in case.headers:
        token = "not-a-token-of-this-site" if case.status == 401 else site.token
        headers["Authorization"] = f"Bearer {token}"
    return headers


def _json_and_trailer(text: str) -> tuple[Any, str]:
    """A JSON document and whatever follows it (a PHP notice after the JSON, say)."""
    value, end = json.JSONDecoder().raw_decode(text)
    return value, text[end:]


def _media_type(headers: Mapping[str, str]) -> str:
    value = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    return value.split(";")[0].strip().lower()


def body_differences(case: Case, got: str) -> list[str]:
    """How the sandbox's body differs from the real one, by the kind of body the real one is."""
    real = case.body
    if not real:
        return [] if not got else [f"an empty body expected, got {got[:80]!r}"]
    if real.lstrip().startswith("<"):
        wanted = _H3.findall(real)[:1]
        return [] if _H3.findall(got)[:1] == wanted else [f"an HTML page {wanted} expected"]
    if case.cut:
        return differences(parse_prefix(real), json.loads(got))
    real_value, real_trailer = _json_and_trailer(real)
    got_value, got_trailer = _json_and_trailer(got)
    found = differences(real_value, got_value)
    if bool(real_trailer.strip()) != bool(got_trailer.strip()):
        found.append(
            f"text after the JSON: {real_trailer[:40]!r} expected, got {got_trailer[:40]!r}"
        )
    return found


@pytest.mark.parametrize("site_for", CASES, ids=[c.case_id for c in CASES], indirect=True)
async def test_replay(site_for: ReplaySite, request: pytest.FixtureRequest) -> None:
    """The sandbox answers the recorded request with the real status, texts and shape."""
    case: Case = request.node.callspec.params["site_for"]
    build = SCENARIOS.get(case.case_id)
    assert build is not None, f"no replay scenario for {case.case_id}: add one to replay_scenarios"
    ids = await build(site_for, case)
    if case.status == 500 and LOGGER_500 in case.body:
        # The logger's random 500 has no cause the sandbox could reproduce; its fault injector
        # answers the same status, which is what a client has to cope with.
        site_for.sandbox.faults.fail_next(500)
    form = rewrite_form(case.form, ids, site_for) if case.form is not None else None
    if form and case.path == "/oauth/token" and case.status == 400:
        form["client_secret"] = "not-the-secret"  # the recorded refusal was for a wrong secret
    path = rewrite_path(case.template, case.path, ids)
    status, text, headers = await site_for.send(case.method, path, form,
                                                _request_headers(case, site_for))  # fmt: skip
    assert status == case.status, f"{case.case_id}: HTTP {status}: {text[:300]}"
    assert _media_type(headers) == _media_type(case.response_headers) or not case.body
    if "WWW-Authenticate" in case.response_headers:
        assert headers.get("WWW-Authenticate") == case.response_headers["WWW-Authenticate"]
    found = body_differences(case, text)
    assert not found, f"{case.case_id} differs from the real answer:\n" + "\n".join(found[:20])


def test_every_scenario_has_a_transcript() -> None:
    """No scenario is left over from a transcript that is gone or renamed."""
    if not SHARED:
        pytest.skip(f"no real-engine transcripts at {TRANSCRIPTS}: replayed the fixtures only")
    assert set(SCENARIOS) - {case.case_id for case in CASES} == set()
