"""The integrations console (admins): list, create from templates, edit, test, logs, deliveries, health."""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.extensions import db
from app.models import Certification
from app.models.integration import INTEGRATION_TYPES, LOG_LEVELS, Integration, SyncRun, WebhookDelivery
from app.services.errors import NotAllowed, ValidationError
from app.services.integrations import health as integration_health  # webhooks subscribes to events
from app.services.integrations import pdf_exports, syncs, webhooks
from app.services.integrations import registry as integrations
from app.services.numbers import MAX_ID, whole_number
from app.views.integrations import bp
from app.views.integrations.forms import TYPE_FIELDS, IntegrationForm, ReplayForm, SelectChoice
from app.web import nav
from app.web.auth import admin_required
from app.web.errors import wants_json
from app.web.forms import commit_or_409, submit
from app.web.pages import page_args, render_page_or_fragment
from app.web.transactions import commit_with

nav.add("integrations.index", "Integrations", nav.ADMIN, prefix="integrations.", order=85)


def _integration(integration_id: int) -> Integration:
    integration = integrations.get(integration_id)
    if integration is None:
        abort(404)
    return integration


def _form(kind: str) -> IntegrationForm:
    form = IntegrationForm()
    certs = db.session.execute(
        select(Certification.id, Certification.name).order_by(Certification.name)
    ).all()
    form.condition_certification_id.choices = [
        SelectChoice("", "Any certification"),
        *(SelectChoice(str(i), n) for i, n in certs),
    ]
    return form


@bp.get("/")
@admin_required
def index():
    rows = db.session.scalars(
        integrations.integration_query(request.args.get("type", ""), request.args.get("status", ""))
    ).all()
    return render_page_or_fragment(
        "integrations/index.html",
        "integrations/_table.html",
        rows=rows,
        counts={i.id: integrations.counts(i) for i in rows},
        health=integration_health.health(),
    )


@bp.get("/new")
@admin_required
def choose():
    return render_template("integrations/choose.html", templates=integrations.TEMPLATES)


@bp.route("/new/<kind>", methods=["GET", "POST"])
@admin_required
def create(kind: str):
    if kind not in INTEGRATION_TYPES:
        abort(404)
    form = _form(kind)
    if request.method == "GET":
        form.name.data = integrations.TEMPLATES[kind]["label"]
    # The page shows the only copy of the secret: built before the commit, it is never lost to a
    # database gone right after it.
    done = submit(form, lambda: integrations.create(kind, form.service_fields(kind), actor=current_user),
                  fields=TYPE_FIELDS[kind],
                  answer=lambda created: render_template(
                      "integrations/created.html", integration=created[0], secret=created[1],
                      incoming_url=integrations.incoming_url(created[0])))
    if done:
        return done.value
    status = 422 if form.errors or form.form_errors else 200
    return render_template(
        "integrations/form.html",
        form=form,
        kind=kind,
        fields=TYPE_FIELDS[kind],
        integration=None,
        template=integrations.TEMPLATES[kind],
    ), status


@bp.get("/<id:integration_id>")
@admin_required
def detail(integration_id: int):
    integration = _integration(integration_id)
    runs = db.session.scalars(
        select(SyncRun)
        .where(SyncRun.integration_id == integration.id)
        .order_by(SyncRun.started_at.desc(), SyncRun.id.desc())
        .limit(10)
    ).all()
    failed_exports = (
        db.session.execute(pdf_exports.failed_query(integration).limit(50)).all()
        if integration.type == "pdf_export"
        else []
    )
    return render_template(
        "integrations/detail.html",
        integration=integration,
        runs=runs,
        data=integrations.integration_data(integration),
        replay=ReplayForm(),
        failed_exports=failed_exports,
    )


@bp.route("/<id:integration_id>/edit", methods=["GET", "POST"])
@admin_required
def edit(integration_id: int):
    integration = _integration(integration_id)
    form = _form(integration.type)
    if request.method == "GET":
        form.fill(integration)
    if submit(form, lambda: integrations.update(integration, form.service_fields(integration.type),
                                                actor=current_user),
              fields=TYPE_FIELDS[integration.type]):
        flash("Saved.", "success")
        return redirect(url_for(".detail", integration_id=integration.id))
    status = 422 if form.errors or form.form_errors else 200
    return render_template(
        "integrations/form.html",
        form=form,
        kind=integration.type,
        integration=integration,
        fields=TYPE_FIELDS[integration.type],
        template=integrations.TEMPLATES[integration.type],
    ), status


@bp.post("/<id:integration_id>/<any(activate, deactivate):action>")
@admin_required
def toggle(integration_id: int, action: str):
    integration = _integration(integration_id)
    integrations.set_active(integration, action == "activate", actor=current_user)
    db.session.commit()
    flash(f"{integration.name} {action}d.", "success")
    return redirect(request.referrer or url_for(".detail", integration_id=integration.id))


@bp.post("/<id:integration_id>/delete")
@admin_required
def delete(integration_id: int):
    integration = _integration(integration_id)
    integrations.delete(integration, actor=current_user)
    db.session.commit()
    flash(f"{integration.name} deleted; its logs and deliveries are kept.", "success")
    return redirect(url_for(".index"))


@bp.post("/<id:integration_id>/test")
@admin_required
def test(integration_id: int):
    integration = _integration(integration_id)
    try:
        result = (
            webhooks.send_test(integration, actor=current_user)
            if integration.is_outgoing
            else syncs.test(integration)
        )
    except NotAllowed as exc:
        result = {"ok": False, "error": str(exc)}
    return commit_with(render_template("integrations/_test_result.html", result=result,
                                       integration=integration))


@bp.post("/<id:integration_id>/sync")
@admin_required
def sync_now(integration_id: int):
    integration = _integration(integration_id)
    commit_or_409(lambda: syncs.sync_now(integration, actor=current_user))
    flash("Sync queued; its result appears in the log.", "success")
    return redirect(url_for(".detail", integration_id=integration.id))


@bp.post("/<id:integration_id>/retry-exports")
@admin_required
def retry_exports(integration_id: int):
    """Queue failed PDF copies again: the one named by `export_id`, or all of them."""
    integration = _integration(integration_id)
    raw = request.form.get("export_id", "").strip()
    if not raw:
        queued = commit_or_409(lambda: pdf_exports.retry_failed(integration, actor=current_user))
        flash(f"{queued} PDF copies queued again.", "success")
        return redirect(url_for(".detail", integration_id=integration.id))
    # One copy, as the API's retry does: an id that is not one of this integration's copies is a 404,
    # never "retry them all" or a silent "0 queued".
    row_id = whole_number(raw, maximum=MAX_ID)
    try:
        commit_or_409(lambda: pdf_exports.retry_one(integration, row_id or 0, actor=current_user))
    except LookupError as exc:
        abort(404, description=str(exc))
    flash("The PDF copy is queued again.", "success")
    return redirect(url_for(".detail", integration_id=integration.id))


@bp.post("/<id:integration_id>/rotate-secret")
@admin_required
def rotate_secret(integration_id: int):
    integration = _integration(integration_id)
    return commit_or_409(
        lambda: integrations.rotate_signing_secret(integration, actor=current_user),
        answer=lambda secret: render_template("integrations/created.html", integration=integration,
                                              secret=secret, rotated=True,
                                              incoming_url=integrations.incoming_url(integration)))


@bp.get("/<id:integration_id>/logs")
@admin_required
def logs(integration_id: int):
    integration = _integration(integration_id)
    level = request.args.get("level", "")
    page, per_page = page_args(50)
    pagination = db.paginate(
        integrations.log_query(integration, level), page=page, per_page=per_page, error_out=False
    )
    return render_page_or_fragment(
        "integrations/logs.html",
        "integrations/_logs_table.html",
        integration=integration,
        pagination=pagination,
        level=level,
        levels=LOG_LEVELS,
    )


@bp.get("/<id:integration_id>/deliveries")
@admin_required
def deliveries(integration_id: int):
    integration = _integration(integration_id)
    status = request.args.get("status", "")
    page, per_page = page_args()
    pagination = db.paginate(
        webhooks.delivery_query(integration, status), page=page, per_page=per_page, error_out=False
    )
    return render_page_or_fragment(
        "integrations/deliveries.html",
        "integrations/_deliveries_table.html",
        integration=integration,
        pagination=pagination,
        status_filter=status,
        replay=ReplayForm(),
    )


@bp.get("/deliveries/<id:delivery_id>")
@admin_required
def delivery(delivery_id: int):
    row = db.get_or_404(WebhookDelivery, delivery_id)
    return render_template("integrations/delivery.html", row=row, integration=row.integration)


@bp.post("/deliveries/<id:delivery_id>/redeliver")
@admin_required
def redeliver(delivery_id: int):
    row = db.get_or_404(WebhookDelivery, delivery_id)
    row_html = None
    if request.htmx:
        row_html = lambda _: render_template("integrations/_delivery_row.html", row=row)  # noqa: E731
    answer = commit_or_409(lambda: webhooks.redeliver(row, actor=current_user), answer=row_html)
    if request.htmx:
        return answer
    flash("Delivery queued again.", "success")
    return redirect(url_for(".delivery", delivery_id=row.id))


@bp.post("/<id:integration_id>/replay")
@admin_required
def replay(integration_id: int):
    integration = _integration(integration_id)
    form = ReplayForm()
    if not form.validate_on_submit():
        abort(400)
    try:  # the one parser of moments the API uses too (RFC 3339; no offset = UTC)
        since = integrations.utc_moment(form.since.data or "", "since")
    except ValidationError as exc:
        flash(exc.errors["since"], "danger")
        return redirect(url_for(".deliveries", integration_id=integration.id))
    replayed = commit_or_409(lambda: webhooks.replay_failed(integration, since, actor=current_user))
    flash(f"{replayed} failed deliveries queued again.", "success")
    return redirect(url_for(".deliveries", integration_id=integration.id))


@bp.get("/health")
@admin_required
def health():
    summary = integration_health.health()
    if wants_json():
        return jsonify(summary)
    return render_template("integrations/health.html", health=summary)
