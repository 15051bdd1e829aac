"""`POST /verify/file`: "Check a file" on the verify page — a certificate PDF, an Open Badges credential
(JSON) or a VC-JWT, uploaded or pasted, answered with a verdict (app/services/credentials/verifying.py).

Anyone may use it (no account); rate limited per IP like the verify page. The upload is read in memory
(app/web/uploads.py: never spooled to a temporary file) and nothing is stored or committed. A file we cannot
check at all is a 422 with the reason in place, like any form error.
"""

from __future__ import annotations

from flask import current_app, request

from app.extensions import limiter
from app.services.credentials import verifying
from app.views.verify import bp
from app.web.pages import render_page_or_fragment
from app.web.uploads import in_memory

PAGE, FRAGMENT = "verify/lookup.html", "verify/_file_verdict.html"


def _limit() -> str:
    return current_app.config.get("VERIFY_RATE_LIMIT", "60 per minute")


def read_upload() -> tuple[bytes, str | None]:
    """The chosen file (at most one byte over the cap: the service says "too large"), else the pasted text."""
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        return upload.stream.read(verifying.MAX_UPLOAD + 1), upload.filename[:200]
    return request.form.get("text", "").encode("utf-8"), None


@bp.post("/file")
@limiter.limit(_limit)
def check_file():
    data, filename = read_upload()
    try:
        verdict = verifying.verify_upload(data, filename)
    except verifying.Unreadable as exc:
        return _unstored(render_page_or_fragment(PAGE, FRAGMENT, 422, problem=str(exc)))
    return _unstored(render_page_or_fragment(PAGE, FRAGMENT, verdict=verdict))


def _unstored(response):
    """The answer describes someone's file: no cache keeps it either."""
    response.headers["Cache-Control"] = "no-store"
    return response


in_memory("verify.check_file", verifying.MAX_UPLOAD)
