"""`GET /v1/models` and `GET /v1/models/{id}`: the mock's models, shaped like the API's.

The list holds one `mock-<scenario>` model per scenario, in the scenarios' order, paged with the
API's `limit` (1 to 1000, default 20), `after_id` and `before_id`. Any other id that
`POST /v1/messages` accepts (every name not starting `mock-` plays `ok`) is found too; an unknown
`mock-` name is the API's 404.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streamwatch.mock.options import InvalidRequest
from streamwatch.mock.request import MAX_OUTPUT_TOKENS
from streamwatch.mock.scenarios import SCENARIOS
from streamwatch.protocol import SCENARIO_MODEL_PREFIX

DEFAULT_LIMIT = 20
_LIMITS = range(1, 1001)
_CREATED_AT = "1970-01-01T00:00:00Z"
"""The API's date for a release date it does not know."""

MODEL_IDS = tuple(f"{SCENARIO_MODEL_PREFIX}{name}" for name in SCENARIOS)


class UnknownModel(LookupError):
    """No such model: answered with 404 not_found_error."""


def model_page(params: Mapping[str, str]) -> dict[str, Any]:
    """One page of the list, for the query parameters; raise InvalidRequest on a bad one."""
    limit = _limit(params.get("limit"))
    ids = list(MODEL_IDS)
    if "after_id" in params:
        ids = ids[_index(params["after_id"], "after_id") + 1 :]
        page, has_more = ids[:limit], len(ids) > limit
    elif "before_id" in params:
        ids = ids[: _index(params["before_id"], "before_id")]
        page, has_more = ids[-limit:], len(ids) > limit
    else:
        page, has_more = ids[:limit], len(ids) > limit
    return {
        "data": [model_info(model_id) for model_id in page],
        "has_more": has_more,
        "first_id": page[0] if page else None,
        "last_id": page[-1] if page else None,
    }


def model_info(model_id: str) -> dict[str, Any]:
    """The model with this id; raise UnknownModel for a `mock-` name that is not a scenario."""
    if model_id.startswith(SCENARIO_MODEL_PREFIX) and model_id not in MODEL_IDS:
        raise UnknownModel(f"model: {model_id}")
    return {
        "type": "model",
        "id": model_id,
        "display_name": _display_name(model_id),
        "created_at": _CREATED_AT,
        "lifecycle": "active",
        "max_tokens": MAX_OUTPUT_TOKENS,
    }


def _display_name(model_id: str) -> str:
    if model_id in MODEL_IDS:
        return f"streamwatch mock: {model_id.removeprefix(SCENARIO_MODEL_PREFIX)}"
    return f"streamwatch mock: {model_id} (plays ok)"


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isascii() or not raw.isdigit() or int(raw) not in _LIMITS:
        raise InvalidRequest("limit: Input should be a whole number from 1 to 1000")
    return int(raw)


def _index(model_id: str, name: str) -> int:
    if model_id not in MODEL_IDS:
        raise InvalidRequest(f"{name}: no model has the id {model_id!r}")
    return MODEL_IDS.index(model_id)
