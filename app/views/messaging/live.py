"""`/live/stream`: the Server-Sent Events stream of changes this user may see (app/live.py).

Served by the Procfile's `live` process (its own thread pool, so open streams never take a thread a
page request needs); a single-process setup serves it from the web process on the same path. When
`LIVE_PORT` puts the stream on another port of the same host (what `make run` does), the pages'
origin is allowed to read it with their cookies (CORS with credentials) and nothing else is.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response, current_app, request
from flask_login import current_user

from app import live
from app.queue import get_redis
from app.services.accounts import scope
from app.views.messaging import bp
from app.web.live import allowed_origins


@bp.get("/live/stream")
def live_stream():
    if not current_user.is_authenticated:
        # 204 tells EventSource to stop reconnecting: a signed-out page has nothing to hear.
        return _with_cors(Response(status=204))
    user_id, is_staff = current_user.id, current_user.is_staff
    # Managers (and staff without the "reads everything" grant) hear only about their departments' people.
    scope_ids = scope.department_ids(current_user._get_current_object()) if is_staff else None
    # The stream reads no database: the request's session (and its connection) ends when this view
    # returns, before the body starts streaming, so a stream that lasts minutes holds no connection.
    body = live.stream(user_id, is_staff, client=get_redis(),
                       lifetime=current_app.config.get("LIVE_STREAM_SECONDS", 300), scope=scope_ids)
    response = Response(body, mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return _with_cors(response)


def _with_cors(response: Response) -> Response:
    origin = request.headers.get("Origin")
    own = f"{request.scheme}://{request.host}"
    if origin and origin != own and origin in allowed_origins(urlsplit(own).hostname or ""):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Credentials"] = "true"
    response.vary.add("Origin")
    return response
