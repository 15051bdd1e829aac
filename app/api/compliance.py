"""/api/v1/compliance: the compliance matrix (paged cells) and its summary, with the page's filters (staff;
managers and staff without the "reads everything" grant: the people of their departments)."""

from __future__ import annotations

from flask import abort

from app.api.base import Param, actor, bp, endpoint, page_of
from app.database import utcnow
from app.services.compliance import matrix
from app.services.compliance.assignments import STATES
from app.services.numbers import MAX_ID

TAG = "Compliance"
FILTERS = (
    Param("department_id", {"type": "integer", "minimum": 1, "maximum": MAX_ID},
          "Only the people of this department and of the departments below it (unknown or outside your "
          "departments: 404)."),
    Param("certification_id", {"type": "integer", "minimum": 1, "maximum": MAX_ID},
          "Only this certification (unknown: 404)."),
)
STATE = Param("state", {"type": "string", "enum": list(STATES)}, "Only cells in this state.")


def _filters(query: dict, state: str = "") -> matrix.Filters:
    found = matrix.visible_filters(actor(), query["department_id"], query["certification_id"], state)
    if found is None:
        abort(404)
    return found


@bp.get("/compliance")
@endpoint("List the compliance matrix", access="staff", tag=TAG, response="ComplianceCell", paginated=True,
          params=(*FILTERS, STATE), errors=(404,),
          description="One item per person x required certification, ordered by name then certification. "
                      "States: valid, expiring (inside the renewal window; `days_left`), expired, missing, "
                      "overdue (missing or expired past `due_at`), exempt. See docs/compliance.md.")
def compliance_cells(query: dict):
    cells, total = matrix.page(_filters(query, query["state"] or ""), utcnow(), actor(), query["page"],
                               query["per_page"])
    return page_of([cell.data() for cell in cells], total, query)


@bp.get("/compliance/summary")
@endpoint("Compliance totals", access="staff", tag=TAG, response="ComplianceSummary", params=FILTERS,
          errors=(404,),
          description="Cells per state, compliant (valid + expiring + exempt) and compliance % overall, per "
                      "department (the person's own) and per certification, in the filters.")
def compliance_summary(query: dict):
    return matrix.summary(_filters(query), utcnow(), actor()).data()
