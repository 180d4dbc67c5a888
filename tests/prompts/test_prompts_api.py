"""The /prompts API on SQLite and PostgreSQL: upload, list, download, delete, TTS, roles."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from helpline.api.app import create_app
from helpline.db.models import Base
from helpline.prompts.audio import parse_wav
from helpline.prompts.models import Prompt
from helpline.prompts.router import router
from helpline.runtime import Runtime
from tests.conftest import ADMIN_PASSWORD, DEMO_PASSWORD, login
from tests.prompts.audio_fixtures import stereo_44k, ulaw_8k

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="needs espeak-ng (apt-get install espeak-ng)"
)


@pytest.fixture
async def api(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app with the prompts router (added here until the app lists it)."""
    app = create_app(runtime)
    if not any(getattr(r, "path", "").startswith("/api/v1/prompts") for r in app.routes):
        app.include_router(router, prefix="/api/v1")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
        yield c


def _upload(
    name: str, data: bytes, language: str = "en", filename: str = "hold.wav"
) -> dict[str, Any]:
    return {
        "data": {"name": name, "language": language},
        "files": {"file": (filename, data, "audio/wav")},
    }


async def test_migration_creates_the_prompts_table_as_the_model_describes(
    runtime: Runtime,
) -> None:
    assert Prompt.metadata is Base.metadata

    def diff(connection: object) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})  # type: ignore[arg-type]
        return [d for d in compare_metadata(context, Base.metadata) if "prompts" in str(d)]

    async with runtime.engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_upload_list_download_delete(api: httpx.AsyncClient, runtime: Runtime) -> None:
    await login(api, "demo", "admin", DEMO_PASSWORD)
    r = await api.post("/api/v1/prompts", **_upload("queue/please-hold", stereo_44k(2.0)))
    assert r.status_code == 201, r.text
    prompt = r.json()
    assert prompt["name"] == "queue/please-hold" and prompt["language"] == "en"
    assert prompt["source"] == "upload" and prompt["original_filename"] == "hold.wav"
    assert prompt["duration_ms"] == 2000 and prompt["size_bytes"] == 44 + 32000
    assert "stored_path" not in prompt

    other = await api.post(
        "/api/v1/prompts", **_upload("queue/please-hold", ulaw_8k(), language="zh")
    )
    assert other.status_code == 201, other.text
    page = (await api.get("/api/v1/prompts", params={"limit": 1, "sort": "-language"})).json()
    assert page["total"] == 2 and page["limit"] == 1 and page["offset"] == 0
    assert [p["language"] for p in page["items"]] == ["zh"]
    only_en = (await api.get("/api/v1/prompts", params={"language": "en"})).json()
    assert [p["id"] for p in only_en["items"]] == [prompt["id"]]

    audio = await api.get(prompt["audio_url"])
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
    wav = parse_wav(audio.content)
    assert (wav.rate, wav.channels, wav.bits) == (8000, 1, 16) and wav.duration == 2.0
    stored = runtime.settings.data_dir / "prompts"
    files = sorted(p.relative_to(stored).as_posix() for p in stored.rglob("*.wav"))
    tenant = files[0].split("/")[0]
    assert files == [f"{tenant}/en/queue/please-hold.wav", f"{tenant}/zh/queue/please-hold.wav"]

    duplicate = await api.post("/api/v1/prompts", **_upload("queue/please-hold", ulaw_8k()))
    assert duplicate.status_code == 409 and duplicate.json()["error_id"] == "prompt_exists"

    assert (await api.delete(f"/api/v1/prompts/{prompt['id']}")).status_code == 204
    assert (await api.get(f"/api/v1/prompts/{prompt['id']}")).status_code == 404
    assert (await api.get(prompt["audio_url"])).status_code == 404
    assert not (stored / tenant / "en" / "queue" / "please-hold.wav").exists()

    audit = (await api.get("/api/v1/audit", params={"entity": "prompt"})).json()["items"]
    assert [e["action"] for e in audit] == ["delete", "create", "create"]
    assert audit[-1]["after"]["name"] == "queue/please-hold"


async def test_bad_uploads_are_refused_and_leave_nothing_behind(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    await login(api, "demo", "admin", DEMO_PASSWORD)
    garbage = await api.post("/api/v1/prompts", **_upload("ivr/x", b"not audio at all"))
    assert garbage.status_code == 415 and garbage.json()["error_id"] == "unsupported_audio"
    bad_name = await api.post("/api/v1/prompts", **_upload("../../etc/passwd", ulaw_8k()))
    assert bad_name.status_code == 422
    no_file = await api.post("/api/v1/prompts", data={"name": "ivr/x"})
    assert no_file.status_code == 422
    assert (await api.get("/api/v1/prompts")).json()["total"] == 0
    assert not list((runtime.settings.data_dir / "prompts").rglob("*.wav"))


async def test_supervisors_read_and_only_tenant_admins_change(api: httpx.AsyncClient) -> None:
    await login(api, "demo", "admin", DEMO_PASSWORD)
    made = (await api.post("/api/v1/prompts", **_upload("ivr/goodbye", ulaw_8k()))).json()
    await login(api, "demo", "supervisor", DEMO_PASSWORD)
    assert (await api.get("/api/v1/prompts")).json()["total"] == 1
    assert (await api.get(made["audio_url"])).status_code == 200
    refused = await api.post("/api/v1/prompts", **_upload("ivr/other", ulaw_8k()))
    assert refused.status_code == 403
    assert (await api.delete(f"/api/v1/prompts/{made['id']}")).status_code == 403
    await login(api, "demo", "agent2001", DEMO_PASSWORD)
    assert (await api.get("/api/v1/prompts")).status_code == 403


async def test_another_tenant_cannot_see_or_touch_a_prompt(api: httpx.AsyncClient) -> None:
    await login(api, "demo", "admin", DEMO_PASSWORD)
    made = (await api.post("/api/v1/prompts", **_upload("ivr/goodbye", ulaw_8k()))).json()
    api.cookies.clear()
    await login(api, "system", "admin", ADMIN_PASSWORD)
    assert (await api.get("/api/v1/prompts")).json()["total"] == 0
    assert (await api.get(f"/api/v1/prompts/{made['id']}")).status_code == 404
    assert (await api.get(made["audio_url"])).status_code == 404
    assert (await api.delete(f"/api/v1/prompts/{made['id']}")).status_code == 404


@needs_espeak
async def test_tts_preview_then_keep_as_prompt(api: httpx.AsyncClient) -> None:
    await login(api, "demo", "admin", DEMO_PASSWORD)
    r = await api.post(
        "/api/v1/prompts/tts", json={"text": "잠시만 기다려 주십시오.", "language": "ko"}
    )
    assert r.status_code == 200, r.text
    preview = r.json()
    assert preview["prompt"] is None and preview["voice"] == "ko" and not preview["cached"]
    audio = await api.get(preview["preview_url"])
    assert audio.status_code == 200 and parse_wav(audio.content).rate == 8000

    kept = await api.post(
        "/api/v1/prompts/tts",
        json={"text": "잠시만 기다려 주십시오.", "language": "ko", "name": "queue/please-hold"},
    )
    body = kept.json()
    assert body["cached"] and body["key"] == preview["key"]
    assert body["prompt"]["source"] == "tts" and body["prompt"]["text"] == "잠시만 기다려 주십시오."
    listed = (await api.get("/api/v1/prompts", params={"name": "queue/please-hold"})).json()
    assert listed["items"][0]["language"] == "ko"

    api.cookies.clear()
    await login(api, "system", "admin", ADMIN_PASSWORD)
    assert (await api.get(preview["preview_url"])).status_code == 404


async def test_tts_input_is_validated(api: httpx.AsyncClient) -> None:
    await login(api, "demo", "admin", DEMO_PASSWORD)
    for body in (
        {"text": "", "language": "en"},
        {"text": "hi", "language": "fr"},
        {"text": "hi", "name": "Bad Name"},
        {"text": "hi", "tenant_id": 1},
    ):
        assert (await api.post("/api/v1/prompts/tts", json=body)).status_code == 422
    assert (await api.get("/api/v1/prompts/tts/" + "0" * 64)).status_code == 404
    assert (await api.get("/api/v1/prompts/tts/not-a-key")).status_code == 404
