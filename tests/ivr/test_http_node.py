"""The HTTP node against a real back-office server on 127.0.0.1: a balance lookup,
result variables, branches on status and values, timeouts and bad answers."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from helpline.ivr.engine import OutcomeKind, run_flow
from helpline.ivr.flow import FlowDocument, HttpNode
from helpline.ivr.http import perform
from tests.ivr.fakes import FakePort, ListRecorder


async def balance(request: Request) -> Response:
    account = request.path_params["account"]
    if account == "404":
        return JSONResponse({"error": "unknown account"}, status_code=404)
    key = request.headers.get("x-api-key", "")
    body = json.dumps({"data": {"vip": True, "owner": None, "account": account}, "auth": key})
    body = body.replace('"data": {', '"data": {"balance": 1234.50, ', 1)
    body = body.replace('"auth"', '"items": [{"id": 7}], "auth"', 1)
    return Response(body, media_type="application/json")


async def echo(request: Request) -> Response:
    return JSONResponse({"got": await request.json(), "method": request.method})


async def slow(_request: Request) -> Response:
    await asyncio.Event().wait()  # never set: the client gives up first
    return Response("late")


async def html(_request: Request) -> Response:
    return Response("<html>maintenance</html>", media_type="text/html")


async def big(_request: Request) -> Response:
    return Response(json.dumps({"pad": "x" * 300_000}), media_type="application/json")


async def broken(_request: Request) -> Response:
    return Response("oops", status_code=503)


async def raw(request: Request) -> Response:
    return JSONResponse({"raw_path": request.scope["raw_path"].decode()})


async def moved(_request: Request) -> Response:
    return RedirectResponse("/balance/1", status_code=302)


APP = Starlette(
    routes=[
        Route("/balance/{account}", balance),
        Route("/echo", echo, methods=["POST", "PUT"]),
        Route("/slow", slow),
        Route("/html", html),
        Route("/big", big),
        Route("/broken", broken),
        Route("/moved", moved),
        Route("/raw/{rest:path}", raw),
    ]
)


@pytest.fixture
async def backend() -> AsyncIterator[str]:
    """The back-office server's base URL (http://127.0.0.1:port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(APP, lifespan="off", log_level="warning", timeout_graceful_shutdown=1)
    config.load()
    server = uvicorn.Server(config)
    server.lifespan = config.lifespan_class(config)
    await server.startup(sockets=[sock])
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    await server.shutdown(sockets=[sock])
    sock.close()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


def lookup(url: str, **extra: Any) -> FlowDocument:
    """Collect an account number, look its balance up, say it; branches by status and VIP."""
    return FlowDocument.model_validate(
        {
            "start": "account",
            "variables": {"key": "secret-1"},
            "nodes": {
                "account": {
                    "type": "collect",
                    "prompt": {"names": ["ivr/please-enter"]},
                    "into": "account",
                    "max_length": 8,
                    "next": "lookup",
                    "on_invalid": "bye",
                },
                "lookup": {
                    "type": "http",
                    "url": url,
                    "headers": {"X-Api-Key": "{key}"},
                    "timeout": 2,
                    "results": {
                        "balance": "data.balance",
                        "vip": "data.vip",
                        "owner": "data.owner",
                        "first_item": "items.0.id",
                        "auth": "auth",
                        "nothing": "data.missing.deeper",
                    },
                    "routes": [
                        {"status": {"min": 404, "max": 404}, "next": "unknown"},
                        {
                            "status": {"min": 200, "max": 299},
                            "when": {"variable": "vip", "operator": "eq", "value": "true"},
                            "next": "vip",
                        },
                    ],
                    "next": "say",
                    "on_error": "sorry",
                    **extra,
                },
                "vip": {"type": "play", "prompt": {"text": "Dear customer"}, "next": "say"},
                "say": {"type": "say", "kind": "amount", "value": "{balance}", "next": "bye"},
                "unknown": {"type": "play", "prompt": {"text": "Unknown account"}, "next": "bye"},
                "sorry": {"type": "play", "prompt": {"text": "Try later"}, "next": "bye"},
                "bye": {"type": "hangup"},
            },
        }
    )


async def test_balance_lookup_is_spoken_and_vip_branch_taken(
    backend: str, client: httpx.AsyncClient
) -> None:
    port = FakePort(["1234"])
    recorder = ListRecorder()
    outcome = await run_flow(
        lookup(f"{backend}/balance/{{account}}"), port, recorder=recorder, http_client=client
    )
    assert outcome.kind is OutcomeKind.HUNG_UP
    v = outcome.variables
    assert (v["balance"], v["vip"], v["owner"], v["first_item"]) == ("1234.50", "true", "", "7")
    assert (v["auth"], v["nothing"], v["http.status"]) == ("secret-1", "", "200")
    assert "tts en:Dear customer" in port.events
    spoken = [e.removeprefix("play en:") for e in port.events if e.startswith("play en:")]
    assert spoken[1:] == [
        "digits/1",
        "digits/thousand",
        "digits/2",
        "digits/hundred",
        "digits/30",
        "digits/4",
        "currency/dollars",
        "words/and",
        "digits/50",
        "currency/cents",
    ]
    assert [(s.node, s.result) for s in recorder.steps][1] == ("lookup", "status:200")


async def test_a_status_range_route_is_taken(backend: str, client: httpx.AsyncClient) -> None:
    port = FakePort(["404"])
    outcome = await run_flow(lookup(f"{backend}/balance/{{account}}"), port, http_client=client)
    assert outcome.variables["http.status"] == "404"
    assert outcome.variables["balance"] == ""
    assert "tts en:Unknown account" in port.events


@pytest.mark.parametrize("path", ["/slow", "/html", "/big", "refused"])
async def test_timeouts_and_unusable_answers_take_on_error(
    backend: str, client: httpx.AsyncClient, path: str
) -> None:
    url = f"{backend}{path}" if path.startswith("/") else "http://127.0.0.1:1/refused"
    document = lookup(url, timeout=0.3)
    port = FakePort(["1"])
    recorder = ListRecorder()
    outcome = await run_flow(document, port, recorder=recorder, http_client=client)
    assert "tts en:Try later" in port.events
    assert "http.status" not in outcome.variables
    assert recorder.steps[1].result == "error"


async def test_a_non_json_error_status_is_routed_not_an_error(
    backend: str, client: httpx.AsyncClient
) -> None:
    node = HttpNode.model_validate(
        {
            "type": "http",
            "url": f"{backend}/broken",
            "results": {"x": "a"},
            "next": "n",
            "on_error": "e",
        }
    )
    answer = await perform(node, {}, client)
    assert (answer.status, answer.values, answer.error) == (503, {"x": ""}, None)


async def test_redirects_are_not_followed(backend: str, client: httpx.AsyncClient) -> None:
    node = HttpNode.model_validate(
        {"type": "http", "url": f"{backend}/moved", "next": "n", "on_error": "e"}
    )
    assert (await perform(node, {}, client)).status == 302


async def test_post_body_is_rendered_from_variables(
    backend: str, client: httpx.AsyncClient
) -> None:
    node = HttpNode.model_validate(
        {
            "type": "http",
            "method": "POST",
            "url": f"{backend}/echo",
            "body": {"account": "{account}", "caller": "{call.caller}", "n": 2},
            "results": {"sent": "got", "method": "method"},
            "next": "n",
            "on_error": "e",
        }
    )
    answer = await perform(node, {"account": "42", "call.caller": "555"}, client)
    assert answer.status == 200
    assert json.loads(answer.values["sent"]) == {"account": "42", "caller": "555", "n": 2}
    assert answer.values["method"] == "POST"


async def test_caller_input_cannot_change_the_path(backend: str, client: httpx.AsyncClient) -> None:
    node = HttpNode.model_validate(
        {
            "type": "http",
            "url": f"{backend}/raw/{{account}}?q={{account}}",
            "results": {"path": "raw_path"},
            "next": "n",
            "on_error": "e",
        }
    )
    answer = await perform(node, {"account": "1/../../echo?x=1#f"}, client)
    assert answer.values["path"] == "/raw/1%2F..%2F..%2Fecho%3Fx%3D1%23f"


async def test_without_a_client_the_run_opens_its_own(backend: str) -> None:
    port = FakePort(["77"])
    outcome = await run_flow(lookup(f"{backend}/balance/{{account}}"), port)
    assert outcome.variables["balance"] == "1234.50"
