"""Copies made by a Certificate PDF export integration (admins): list them, retry failed ones.

The same services as the console's Retry buttons (app/services/integrations/pdf_exports.py), audited the
same way. A copy that failed after its retries stays `failed` until someone retries it.
"""

from __future__ import annotations

from flask import abort

from app.api.base import Param, actor, bp, committed, endpoint, paginate
from app.models.integration import EXPORT_STATUSES, Integration
from app.services.integrations import pdf_exports

TAG = "Integrations"


@bp.get("/integrations/<id:id>/pdf-copies")
@endpoint("A PDF export's copies", access="admin", tag=TAG, response="PdfCopy", load=Integration,
          paginated=True,
          params=(Param("status", {"type": "string", "enum": list(EXPORT_STATUSES)},
                        "Only this status (`failed`: the copies waiting for a retry)."),),
          description="The latest attempts first. Other integration types have no copies (an empty list).")
def list_pdf_copies(item: Integration, query: dict):
    return paginate(pdf_exports.copy_query(item, query["status"] or ""), query, pdf_exports.copy_data)


@bp.post("/integrations/<id:id>/pdf-copies/retry")
@endpoint("Retry every failed PDF copy", access="admin", tag=TAG, response="Queued", status=202,
          load=Integration, body="Empty", errors=(409,),
          description="Queues every failed copy again (a fresh set of attempts). Not a PDF export: 409.")
def retry_failed_pdf_copies(item: Integration, body: dict):
    queued = pdf_exports.retry_failed(item, actor=actor())
    return committed({"queued": queued}), 202


@bp.post("/integrations/<id:id>/pdf-copies/<id:copy_id>/retry")
@endpoint("Retry one failed PDF copy", access="admin", tag=TAG, response="PdfCopy", status=202,
          load=Integration, body="Empty", errors=(409,),
          description="Not one of this integration's copies: 404. Not failed (pending or exported), or not "
                      "a PDF export: 409.")
def retry_pdf_copy(item: Integration, copy_id: int, body: dict):
    try:
        row = pdf_exports.retry_one(item, copy_id, actor=actor())
    except LookupError as exc:
        abort(404, str(exc))
    return committed(pdf_exports.copy_data(row)), 202
