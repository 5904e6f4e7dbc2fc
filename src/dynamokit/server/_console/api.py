"""POST /console/api: the few read operations console.js calls itself (the stream tail), as JSON."""

from __future__ import annotations

import orjson

from ..._errors import DynamoDBError
from .web import Request, Response, json_response

ALLOWED = frozenset({"DescribeTable", "DescribeStream", "GetShardIterator", "GetRecords", "ListStreams"})


def api(request: Request) -> Response:
    try:
        payload = orjson.loads(request.body or b"{}")
        if not isinstance(payload, dict):
            raise DynamoDBError("SerializationException", "Expected a JSON object")
        operation, call = payload.get("operation"), payload.get("request", {})
        if operation not in ALLOWED or not isinstance(call, dict):
            raise DynamoDBError("ValidationException", f"The console's API does not serve {operation!r}")
        return json_response(request.call(operation, call))
    except orjson.JSONDecodeError:
        return json_response({"code": "SerializationException", "message": "Not valid JSON"}, 400)
    except DynamoDBError as error:
        return json_response({"code": error.code, "message": error.message}, 400)
