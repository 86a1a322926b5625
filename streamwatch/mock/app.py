"""The ASGI app: `POST /v1/messages` answered by playing the plan for each request.

A fault fires on the first request of a conversation, keyed by the base conversation's digest and
the scenario; later requests for the same key (a retry, a resume) play the scenario clean, unless
the request says `x-streamwatch-fail-always: 1`. The memory is per app instance. An app that
`stands_in` for one that has stopped (it plays the retries and resumes of sessions that one recorded)
takes every conversation's fault as fired already.

Non-streaming requests get the complete message when the stream would have finished; of the
faults only the HTTP errors apply to them. `POST /v1/messages/count_tokens` counts as
`streamwatch.mock.tokens` says, and `GET /v1/models[/{id}]` lists the models of
`streamwatch.mock.models`.

Any key is accepted, and the app never logs it. By default a request needs no key and no
`anthropic-version`; with `require_key`, one without `x-api-key` or `authorization: Bearer` gets the
API's 401 authentication_error, and then one without `anthropic-version` the API's 400.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from streamwatch.mock.models import UnknownModel, model_info, model_page
from streamwatch.mock.plan import Ending, Ids, Pace, Plan, error_plan, json_plan, plan_response
from streamwatch.mock.request import InvalidRequest, count_request_tokens, parse_request
from streamwatch.server import StreamCut

MISSING_KEY = "x-api-key header is required"
MISSING_VERSION = "anthropic-version: header is required"


class MockApp:
    def __init__(self, pace: Pace, *, require_key: bool = False, stands_in: bool = False) -> None:
        self._pace = pace
        self._require_key = require_key
        self._stands_in = stands_in
        self._fired: set[tuple[bytes, str]] = set()
        self._closing = asyncio.Event()
        self._router = Starlette(
            routes=[
                Route("/v1/messages", self._messages, methods=["POST"]),
                Route("/v1/messages/count_tokens", self._count_tokens, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
                Route("/v1/models/{model_id:path}", self._model, methods=["GET"]),
            ],
            exception_handlers={HTTPException: self._http_error},
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = self._refusal(Request(scope)) if scope["type"] == "http" else None
        if refusal is not None:
            await self._play(refusal)(scope, receive, send)
            return
        await self._router(scope, receive, send)

    def cut_streams(self) -> None:
        """Cut every response still being played (call on the server's event loop)."""
        self._closing.set()

    async def _messages(self, request: Request) -> Response:
        ids = Ids.fresh()
        try:
            parsed = parse_request(await request.body(), request.headers.items())
        except InvalidRequest as error:
            return self._play(error_plan(400, "invalid_request_error", str(error), ids.request))
        key = (parsed.conversation.digest, parsed.scenario.name)
        fires = parsed.fail_always or not self._stands_in and key not in self._fired
        self._fired.add(key)
        pace = self._pace
        if parsed.time_scale is not None:
            pace = replace(pace, scale=parsed.time_scale)
        return self._play(plan_response(parsed, fault_fires=fires, ids=ids, pace=pace))

    async def _count_tokens(self, request: Request) -> Response:
        request_id = Ids.fresh().request
        try:
            tokens = count_request_tokens(await request.body())
        except InvalidRequest as error:
            return self._play(error_plan(400, "invalid_request_error", str(error), request_id))
        return self._play(json_plan(200, {"input_tokens": tokens}, request_id))

    async def _models(self, request: Request) -> Response:
        request_id = Ids.fresh().request
        try:
            page = model_page(request.query_params)
        except InvalidRequest as error:
            return self._play(error_plan(400, "invalid_request_error", str(error), request_id))
        return self._play(json_plan(200, page, request_id))

    async def _model(self, request: Request) -> Response:
        request_id = Ids.fresh().request
        try:
            info = model_info(request.path_params["model_id"])
        except UnknownModel as error:
            return self._play(error_plan(404, "not_found_error", str(error), request_id))
        return self._play(json_plan(200, info, request_id))

    def _refusal(self, request: Request) -> Plan | None:
        """With `require_key`, the API's answer to a request without a key or a version."""
        if not self._require_key:
            return None
        bearer = request.headers.get("authorization", "")
        has_key = request.headers.get("x-api-key") or bearer.lower().startswith("bearer ") and bearer[7:].strip()
        if not has_key:
            return error_plan(401, "authentication_error", MISSING_KEY, Ids.fresh().request)
        if not request.headers.get("anthropic-version"):
            return error_plan(400, "invalid_request_error", MISSING_VERSION, Ids.fresh().request)
        return None

    async def _http_error(self, request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        error_type = "not_found_error" if error.status_code == 404 else "invalid_request_error"
        return self._play(
            error_plan(error.status_code, error_type, error.detail, Ids.fresh().request)
        )

    def _play(self, plan: Plan) -> Response:
        return StreamingResponse(self._body(plan), status_code=plan.status, headers=plan.headers)

    async def _body(self, plan: Plan) -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        for write in plan.writes:
            delay = start + write.at - loop.time()
            if delay > 0:
                if await _happens_within(self._closing, delay):
                    raise StreamCut("the mock server is shutting down")
            else:  # a turn of the loop between writes: a client that hung up is noticed after one write, not a burst
                await asyncio.sleep(0)
            yield write.data
        if plan.ending is Ending.CUT:
            raise StreamCut("the scenario cuts the connection here")


async def _happens_within(event: asyncio.Event, seconds: float) -> bool:
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except TimeoutError:
        return False
    return True
