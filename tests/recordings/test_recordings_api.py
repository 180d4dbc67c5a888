"""The /recordings API on SQLite and PostgreSQL: list, filter, download, delete, roles."""

from __future__ import annotations

import wave
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from io import BytesIO

import httpx
import pytest

from helpline.api.app import create_app
from helpline.db.base import utcnow
from helpline.recordings import service
from helpline.recordings.models import CallDirection
from helpline.recordings.router import router
from helpline.runtime import Runtime
from tests.conftest import ADMIN_PASSWORD, DEMO_PASSWORD, login
from tests.recordings.factory import recorded_call, tenant_id

T0 = datetime.fromisoformat("2026-11-02T09:00:00+00:00")


@pytest.fixture
async def api(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app with the recordings router (added here until the app lists it)."""
    app = create_app(runtime)
    if not any(getattr(r, "path", "").startswith("/api/v1/recordings") for r in app.routes):
        app.include_router(router, prefix="/api/v1")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
        yield c


@pytest.fixture
async def calls(runtime: Runtime) -> dict[str, int]:
    """Three recorded calls of the demo tenant, an hour apart: two with agent2001."""
    demo = await tenant_id(runtime, "demo")
    made = {
        "first": await recorded_call(
            runtime, tenant=demo, call_id="a@test", caller="+491111", started_at=T0
        ),
        "second": await recorded_call(
            runtime,
            tenant=demo,
            call_id="b@test",
            caller="+492222",
            agent="agent2002",
            started_at=T0 + timedelta(hours=1),
        ),
        "third": await recorded_call(
            runtime,
            tenant=demo,
            call_id="c@test",
            caller="+491111",
            started_at=T0 + timedelta(hours=2),
            seconds=1.0,
        ),
    }
    return {name: row.id for name, row in made.items()}


def _ids(page: httpx.Response) -> list[int]:
    assert page.status_code == 200, page.text
    return [item["id"] for item in page.json()["items"]]


async def test_supervisor_lists_newest_first_and_filters(
    api: httpx.AsyncClient, calls: dict[str, int]
) -> None:
    await login(api, "demo", "supervisor", DEMO_PASSWORD)
    page = await api.get("/api/v1/recordings")
    assert _ids(page) == [calls["third"], calls["second"], calls["first"]]
    item = page.json()["items"][0]
    assert item["call_id"] == "c@test" and item["agent"] == "agent2001"
    assert item["status"] == "complete" and item["direction"] == "inbound"
    assert item["duration_seconds"] == 1.0 and item["size_bytes"] == 44 + 16000
    assert item["audio_url"] == f"/api/v1/recordings/{calls['third']}/audio"
    assert "path" not in item

    assert _ids(await api.get("/api/v1/recordings", params={"call_id": "b@test"})) == [
        calls["second"]
    ]
    by_caller = await api.get("/api/v1/recordings", params={"caller": "+491111"})
    assert _ids(by_caller) == [calls["third"], calls["first"]]
    by_agent = await api.get("/api/v1/recordings", params={"agent": "agent2002"})
    assert _ids(by_agent) == [calls["second"]]
    window = {"started_from": "2026-11-02T10:00:00+00:00", "started_to": "2026-11-02T11:00:00Z"}
    assert _ids(await api.get("/api/v1/recordings", params=window)) == [calls["second"]]
    oldest = await api.get("/api/v1/recordings", params={"sort": "started_at", "limit": 1})
    assert _ids(oldest) == [calls["first"]] and oldest.json()["total"] == 3

    naive = await api.get("/api/v1/recordings", params={"started_from": "2026-11-02T10:00:00"})
    assert naive.status_code == 422 and naive.json()["error_id"] == "validation_error"


async def test_download_gives_the_wav_and_a_missing_file_is_a_stable_404(
    api: httpx.AsyncClient, runtime: Runtime, calls: dict[str, int]
) -> None:
    await login(api, "demo", "supervisor", DEMO_PASSWORD)
    meta = (await api.get(f"/api/v1/recordings/{calls['third']}")).json()
    audio = await api.get(meta["audio_url"])
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
    with wave.open(BytesIO(audio.content), "rb") as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getnframes()) == (1, 8000, 8000)

    for stored in (runtime.settings.data_dir / "recordings").rglob("*.wav"):
        stored.unlink()
    gone = await api.get(meta["audio_url"])
    assert gone.status_code == 404 and gone.json()["error_id"] == "recording_file_missing"
    assert (await api.get(f"/api/v1/recordings/{calls['third']}")).status_code == 200


async def test_an_agent_sees_only_recordings_of_their_own_calls(
    api: httpx.AsyncClient, calls: dict[str, int]
) -> None:
    await login(api, "demo", "agent2001", DEMO_PASSWORD)
    assert _ids(await api.get("/api/v1/recordings")) == [calls["third"], calls["first"]]
    asks_for_other = await api.get("/api/v1/recordings", params={"agent": "agent2002"})
    assert _ids(asks_for_other) == []
    other = calls["second"]
    assert (await api.get(f"/api/v1/recordings/{other}")).status_code == 404
    assert (await api.get(f"/api/v1/recordings/{other}/audio")).status_code == 404
    assert (await api.get(f"/api/v1/recordings/{calls['first']}/audio")).status_code == 200
    assert (await api.delete(f"/api/v1/recordings/{calls['first']}")).status_code == 403


async def test_only_a_tenant_admin_deletes_and_the_file_goes_with_the_row(
    api: httpx.AsyncClient, runtime: Runtime, calls: dict[str, int]
) -> None:
    await login(api, "demo", "supervisor", DEMO_PASSWORD)
    target = f"/api/v1/recordings/{calls['second']}"
    assert (await api.delete(target)).status_code == 403
    await login(api, "demo", "admin", DEMO_PASSWORD)
    files = sorted((runtime.settings.data_dir / "recordings").rglob("*.wav"))
    assert len(files) == 3

    assert (await api.delete(target)).status_code == 204
    assert (await api.get(target)).status_code == 404
    assert (await api.delete(target)).status_code == 404
    assert len(sorted((runtime.settings.data_dir / "recordings").rglob("*.wav"))) == 2
    assert _ids(await api.get("/api/v1/recordings")) == [calls["third"], calls["first"]]

    audit = (await api.get("/api/v1/audit", params={"entity": "recording"})).json()["items"]
    assert [(e["action"], e["entity_id"]) for e in audit] == [("delete", str(calls["second"]))]
    assert audit[0]["before"]["call_id"] == "b@test" and audit[0]["after"] is None


async def test_a_recording_still_being_written_cannot_be_deleted(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    demo = await tenant_id(runtime, "demo")
    async with runtime.unit_of_work() as session:
        live = await service.begin(
            session,
            tenant_id=demo,
            call_id="live@test",
            caller="+493333",
            callee="2001",
            path=service.recording_path(runtime.settings.data_dir, demo, utcnow()).relative,
            stereo=True,
            started_at=utcnow(),
            direction=CallDirection.INBOUND,
        )
    await login(api, "demo", "admin", DEMO_PASSWORD)
    refused = await api.delete(f"/api/v1/recordings/{live.id}")
    assert refused.status_code == 409 and refused.json()["error_id"] == "recording_in_progress"
    assert (await api.get(f"/api/v1/recordings/{live.id}")).json()["status"] == "recording"


async def test_another_tenant_cannot_see_or_touch_a_recording(
    api: httpx.AsyncClient, calls: dict[str, int]
) -> None:
    await login(api, "system", "admin", ADMIN_PASSWORD)
    assert (await api.get("/api/v1/recordings")).json()["total"] == 0
    for name in ("first", "third"):
        url = f"/api/v1/recordings/{calls[name]}"
        for response in (
            await api.get(url),
            await api.get(f"{url}/audio"),
            await api.delete(url),
        ):
            assert response.status_code == 404 and response.json()["error_id"] == "not_found"
    await login(api, "demo", "admin", DEMO_PASSWORD)
    assert (await api.get("/api/v1/recordings")).json()["total"] == 3


async def test_an_agent_sees_recordings_made_under_their_phones_sip_account(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    demo = await tenant_id(runtime, "demo")
    # Call control names the SIP account that answered (demo: agent2001 owns 2001).
    own = await recorded_call(runtime, tenant=demo, call_id="sip@test", agent="2001")
    other = await recorded_call(runtime, tenant=demo, call_id="sip2@test", agent="2002")
    await login(api, "demo", "agent2001", DEMO_PASSWORD)
    assert _ids(await api.get("/api/v1/recordings")) == [own.id]
    assert (await api.get(f"/api/v1/recordings/{own.id}/audio")).status_code == 200
    assert (await api.get(f"/api/v1/recordings/{other.id}")).status_code == 404
