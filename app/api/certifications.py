"""/api/v1/certifications: what learners earn. Everyone signed in reads; admins write."""

from __future__ import annotations

from flask import url_for
from sqlalchemy.orm import selectinload

from app.api.base import Param, actor, bp, committed, created, endpoint, paginate
from app.api.schemas import text
from app.models import CERTIFICATION_STATUSES, Certification
from app.services.lifecycle import catalog

TAG = "Certifications"
FILTERS = (
    Param("status", {"type": "string", "enum": list(CERTIFICATION_STATUSES)}, "Only this status."),
    Param("q", text(200), "Search in the name (case-insensitive)."),
)


@bp.get("/certifications")
@endpoint("List certifications", access="login", tag=TAG, response="Certification", paginated=True,
          params=FILTERS)
def list_certifications(query: dict):
    stmt = catalog.certification_query(query["q"] or "", query["status"] or "", with_links=True)
    # Two queries per page for the id lists, not two per certification.
    stmt = stmt.options(selectinload(Certification.courses), selectinload(Certification.prerequisites))
    return paginate(stmt, query, catalog.certification_data)


@bp.post("/certifications")
@endpoint("Create a certification", access="admin", tag=TAG, response="Certification", status=201,
          body="CertificationCreate",
          description="Starts as `draft` unless `status` is given; an active certification needs at least "
                      "one required course. Only active certifications issue certificates.")
def create_certification(body: dict):
    cert = catalog.create_certification(body, actor=actor())
    return committed(created(catalog.certification_data(cert), url_for("api.get_certification", id=cert.id)))


@bp.get("/certifications/<id:id>")
@endpoint("Get a certification", access="login", tag=TAG, response="Certification", load=Certification)
def get_certification(item: Certification):
    return catalog.certification_data(item)


@bp.patch("/certifications/<id:id>")
@endpoint("Update a certification", access="admin", tag=TAG, response="Certification", load=Certification,
          body="CertificationUpdate",
          description="Partial update: only the fields sent change. Prerequisite cycles are refused (422).")
def update_certification(item: Certification, body: dict):
    catalog.update_certification(item, body, actor=actor())
    return committed(catalog.certification_data(item))


@bp.delete("/certifications/<id:id>")
@endpoint("Delete a certification", access="admin", tag=TAG, response=None, status=204, load=Certification,
          errors=(409,),
          description="Refused (409) once certificates were issued or another certification requires it: "
                      "archive it instead (PATCH `status: archived`).")
def delete_certification(item: Certification):
    catalog.delete_certification(item, actor=actor())
    return committed(""), 204
