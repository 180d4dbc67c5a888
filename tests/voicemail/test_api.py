"""The voicemail API on SQLite and PostgreSQL: boxes, messages, audio, roles."""

from __future__ import annotations

import wave
from collections.abc import Callable
from datetime import datetime, timedelta
from io import BytesIO

import httpx
import pytest

from helpline.runtime import Runtime
from helpline.voicemail.deposit import leave_message
from helpline.voicemail.models import OwnerKind
from helpline.voicemail.notify import Notifier
from tests.conftest import DEMO_PASSWORD, login
from tests.recordings.factory import tenant_id
from tests.voicemail.factory import make_box
from tests.voicemail.fakes import FakePort

T0 = datetime.fromisoformat("2026-11-02T09:00:00+00:00")
BOXES = "/api/v1/voicemail-boxes"
MESSAGES = "/api/v1/voicemail-messages"


def _clock(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


@pytest.fixture
async def mailbox(runtime: Runtime) -> dict[str, int]:
    """Box "personal" of agent2001 with two messages an hour apart, box "sales" with one."""
    demo = await tenant_id(runtime, "demo")
    personal = await make_box(
        runtime, tenant=demo, name="personal", owner_kind=OwnerKind.AGENT, owner_ref="agent2001"
    )
    sales = await make_box(runtime, tenant=demo)
    ids = {"personal": personal.id, "sales": sales.id}
    for name, box, at, caller in (
        ("older", personal, T0, "+491111"),
        ("newer", personal, T0 + timedelta(hours=1), "+492222"),
        ("sales_message", sales, T0, "+493333"),
    ):
        port = FakePort(tenant_id=demo, caller=caller, call_id=f"{name}@test")
        message = await leave_message(
            port, box, runtime=runtime, notifier=Notifier(None), now=_clock(at)
        )
        assert message is not None
        ids[name] = message.id
    return ids


def _ids(page: httpx.Response) -> list[int]:
    """The ids listed, without the demo tenant's own content (its ``demo-`` box)."""
    assert page.status_code == 200, page.text
    items = page.json()["items"]
    return [item["id"] for item in items if not item.get("name", "").startswith("demo-")]


async def test_tenant_admin_manages_boxes(client: httpx.AsyncClient) -> None:
    await login(client, "demo", "admin", DEMO_PASSWORD)
    r = await client.post(
        BOXES,
        json={
            "name": "support",
            "owner_kind": "queue",
            "owner_ref": "Support",
            "notify_emails": ["Team@Example.com", "team@example.com"],
            "timezone": "Asia/Seoul",
        },
    )
    assert r.status_code == 201, r.text
    box = r.json()
    assert box["greeting"] is None and box["max_seconds"] == 120
    assert box["silence_seconds"] == 5.0 and box["enabled"] is True
    assert box["notify_emails"] == ["team@example.com"] and box["language"] is None

    r = await client.patch(
        f"{BOXES}/{box['id']}",
        json={"greeting": "vm/support", "max_seconds": 300, "language": "zh", "timezone": None},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["greeting"], r.json()["max_seconds"]) == ("vm/support", 300)
    assert (r.json()["language"], r.json()["timezone"]) == ("zh", None)

    dup = await client.post(
        BOXES, json={"name": "support", "owner_kind": "queue", "owner_ref": "x"}
    )
    assert (dup.status_code, dup.json()["error_id"]) == (409, "voicemail_box_name_taken")
    assert _ids(await client.get(BOXES)) == [box["id"]]

    assert (await client.delete(f"{BOXES}/{box['id']}")).status_code == 204
    assert (await client.get(f"{BOXES}/{box['id']}")).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"max_seconds": 4},
        {"max_seconds": 601},
        {"owner_kind": "team"},
        {"greeting": "../etc/passwd"},
        {"notify_emails": ["not-an-address"]},
        {"timezone": "Mars/Olympus"},
        {"language": "fr"},
    ],
)
async def test_invalid_box_is_refused(client: httpx.AsyncClient, body: dict[str, object]) -> None:
    await login(client, "demo", "admin", DEMO_PASSWORD)
    r = await client.post(
        BOXES, json={"name": "bad", "owner_kind": "queue", "owner_ref": "q"} | body
    )
    assert (r.status_code, r.json()["error_id"]) == (422, "validation_error")


async def test_supervisor_reads_messages_newest_first_but_manages_no_box(
    client: httpx.AsyncClient, mailbox: dict[str, int]
) -> None:
    await login(client, "demo", "supervisor", DEMO_PASSWORD)
    assert _ids(await client.get(BOXES)) == [mailbox["personal"], mailbox["sales"]]
    page = await client.get(f"{BOXES}/{mailbox['personal']}/messages")
    assert _ids(page) == [mailbox["newer"], mailbox["older"]]
    item = page.json()["items"][0]
    assert (item["caller"], item["called"], item["call_id"]) == ("+492222", "1000", "newer@test")
    assert item["status"] == "complete" and item["duration_seconds"] == 3.0
    assert item["size_bytes"] == 44 + 48000 and item["heard"] is False
    assert item["audio_url"] == f"{MESSAGES}/{mailbox['newer']}/audio"
    assert "path" not in item and "node" not in item

    r = await client.post(BOXES, json={"name": "x", "owner_kind": "queue", "owner_ref": "q"})
    assert (r.status_code, r.json()["error_id"]) == (403, "role_required")


async def test_downloading_audio_marks_the_message_heard(
    client: httpx.AsyncClient, mailbox: dict[str, int]
) -> None:
    await login(client, "demo", "agent2001", DEMO_PASSWORD)
    audio = await client.get(f"{MESSAGES}/{mailbox['older']}/audio")
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
    with wave.open(BytesIO(audio.content), "rb") as wav:
        assert (wav.getframerate(), wav.getnframes()) == (8000, 24000)

    heard = (await client.get(f"{MESSAGES}/{mailbox['older']}")).json()
    assert heard["heard"] is True and heard["heard_by"] == "agent2001"
    assert heard["heard_at"] is not None
    box = f"{BOXES}/{mailbox['personal']}/messages"
    assert _ids(await client.get(box, params={"heard": "false"})) == [mailbox["newer"]]
    assert _ids(await client.get(box, params={"heard": "true"})) == [mailbox["older"]]

    r = await client.patch(f"{MESSAGES}/{mailbox['older']}", json={"heard": False})
    assert r.status_code == 200, r.text
    assert (r.json()["heard"], r.json()["heard_at"], r.json()["heard_by"]) == (False, None, None)
    r = await client.patch(f"{MESSAGES}/{mailbox['newer']}", json={"heard": True})
    assert r.json()["heard_by"] == "agent2001"


async def test_agent_reaches_only_the_boxes_they_own(
    client: httpx.AsyncClient, mailbox: dict[str, int]
) -> None:
    await login(client, "demo", "agent2002", DEMO_PASSWORD)
    assert _ids(await client.get(BOXES)) == []
    for url in (
        f"{BOXES}/{mailbox['personal']}",
        f"{BOXES}/{mailbox['personal']}/messages",
        f"{BOXES}/{mailbox['sales']}/messages",
        f"{MESSAGES}/{mailbox['older']}",
        f"{MESSAGES}/{mailbox['older']}/audio",
    ):
        assert (await client.get(url)).status_code == 404, url
    assert (await client.delete(f"{MESSAGES}/{mailbox['older']}")).status_code == 404
    r = await client.patch(f"{MESSAGES}/{mailbox['older']}", json={"heard": True})
    assert r.status_code == 404

    await login(client, "demo", "agent2001", DEMO_PASSWORD)
    assert _ids(await client.get(BOXES)) == [mailbox["personal"]]
    assert (await client.get(f"{MESSAGES}/{mailbox['sales_message']}")).status_code == 404
    r = await client.patch(f"{BOXES}/{mailbox['personal']}", json={"max_seconds": 30})
    assert r.status_code == 403


async def test_deleting_a_message_removes_its_file(
    client: httpx.AsyncClient, runtime: Runtime, mailbox: dict[str, int]
) -> None:
    await login(client, "demo", "agent2001", DEMO_PASSWORD)
    files = sorted((runtime.settings.data_dir / "voicemail").rglob("*.wav"))
    assert len(files) == 3

    assert (await client.delete(f"{MESSAGES}/{mailbox['older']}")).status_code == 204

    assert (await client.get(f"{MESSAGES}/{mailbox['older']}")).status_code == 404
    assert len(sorted((runtime.settings.data_dir / "voicemail").rglob("*.wav"))) == 2


async def test_deleting_a_box_removes_its_messages_and_files(
    client: httpx.AsyncClient, runtime: Runtime, mailbox: dict[str, int]
) -> None:
    await login(client, "demo", "admin", DEMO_PASSWORD)
    assert (await client.delete(f"{BOXES}/{mailbox['personal']}")).status_code == 204

    assert (await client.get(f"{MESSAGES}/{mailbox['newer']}")).status_code == 404
    left = sorted((runtime.settings.data_dir / "voicemail").rglob("*.wav"))
    assert [f.parent.name for f in left] == [str(mailbox["sales"])]
    assert _ids(await client.get(f"{BOXES}/{mailbox['sales']}/messages")) == [
        mailbox["sales_message"]
    ]


async def test_missing_audio_file_is_reported(
    client: httpx.AsyncClient, runtime: Runtime, mailbox: dict[str, int]
) -> None:
    for wav in (runtime.settings.data_dir / "voicemail").rglob("*.wav"):
        wav.unlink()
    await login(client, "demo", "supervisor", DEMO_PASSWORD)
    r = await client.get(f"{MESSAGES}/{mailbox['older']}/audio")
    assert (r.status_code, r.json()["error_id"]) == (404, "voicemail_message_file_missing")
    assert (await client.get(f"{MESSAGES}/{mailbox['older']}")).json()["heard"] is False
