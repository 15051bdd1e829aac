"""Schemathesis over the whole API: every documented operation, as an admin and as a learner.

The schema is the app's own /api/v1/openapi.json, loaded in-process (WSGI). Each (operation, role) is one
test with its own small world (courses, certifications, learners, enrollments, certificates, one revoked),
so writes made while fuzzing one operation never leak into another. Generated cases are both valid
(positive) and invalid (negative) data; path ids are drawn half from real rows, half from the generator.
Checks: no 5xx, every status, content type, header and body as documented.

Bounded and derandomised so CI is reproducible: FUZZ_EXAMPLES (default 25) per operation and role. To dig
deeper locally: `FUZZ_EXAMPLES=200 FUZZ_RANDOM=1 .venv/bin/pytest tests/api/test_schemathesis.py`.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app import _register_blueprints as register_blueprints
from app.api.openapi import HTTP_METHODS, build_document
from app.extensions import db
from app.models import Certificate, Enrollment
from app.models.integration import ExportedPdf
from app.services.integrations import registry, webhooks
from app.services.lifecycle import revocation

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
RANDOM = os.environ.get("FUZZ_RANDOM") == "1"  # explore beyond the fixed examples (locally, not in CI)
# FUZZ_STATS=1 prints the statuses each operation answered (is the fuzzing reaching the happy paths?).
STATS: defaultdict[str, Counter] | None = defaultdict(Counter) if os.environ.get("FUZZ_STATS") else None
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
ROLES = ("admin", "learner")

# Hypothesis caches under ./.hypothesis by default; a stray one in the repo makes its pytest plugin warn
# (an error here). Keep it in the run's temporary instance folder, removed at the end of the session.
set_hypothesis_home_dir(Path(os.environ["LAUREL_INSTANCE_PATH"]) / "hypothesis")


def _documented_operations() -> list[tuple[str, str]]:
    """(METHOD, path) of every operation in the document, known at collection time: every @endpoint route
    of the one API blueprint (integrations and analytics included)."""
    bare = Flask(__name__)
    register_blueprints(bare)  # routes only: no database, Redis or configuration needed
    with bare.app_context():
        paths = build_document(bare)["paths"]
    return sorted((method.upper(), path) for path, item in paths.items() for method in item
                  if method in HTTP_METHODS)


OPERATIONS = _documented_operations()


@pytest.fixture(scope="module")
def fuzz_schema(app) -> Iterator[schemathesis.BaseSchema]:
    config = schemathesis.Config()
    # Every case carries the role's bearer token: no generated (so mostly 401) Authorization headers.
    # Missing, unknown and revoked tokens are tested in test_auth.py.
    config.projects.get_default().generation.update(with_security_parameters=False)
    yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)
    if STATS:
        print("\nstatuses answered while fuzzing:")  # noqa: T201 (asked for with FUZZ_STATS=1)
        for label, counts in sorted(STATS.items()):
            print(f"  {label}: {dict(sorted(counts.items()))}")  # noqa: T201


def test_every_operation_is_fuzzed(fuzz_schema):
    """The collected list is the app's real document: nothing is left out of the fuzzing."""
    served = sorted((method.upper(), path) for path, item in fuzz_schema.raw_schema["paths"].items()
                    for method in item if method in HTTP_METHODS)
    assert served == OPERATIONS


def _seed_integrations(app, world) -> dict[str, list[int]]:
    """An active webhook with a failed delivery, a PDF export with a failed and an exported copy, and a CSV
    drop, so that the integration operations are fuzzed on real rows too (redeliver, replay, retry, sync...).

    The webhook targets a closed loopback port: accepted while OUTGOING_ALLOW_PRIVATE is on for the seeding
    only, so pings sent while fuzzing are refused at connect time and reach no one. The file integrations'
    folder is in this run's temporary instance folder (each operation gets a fresh seed: a PATCHed folder is
    never used by another operation)."""
    app.config["OUTGOING_ALLOW_PRIVATE"] = True
    try:
        webhook, _ = registry.create("generic_webhook", {"name": "Fuzz hook", "url": "http://127.0.0.1:9/",
                                                         "event_types": ["ping"]}, actor="test")
    finally:
        app.config["OUTGOING_ALLOW_PRIVATE"] = False
    registry.set_active(webhook, True, actor="test")
    delivery_id = webhooks.send_test(webhook, actor="test")["delivery_id"]
    # Export and drop folders may not live in instance/ (the folder policy): a temp folder beside it.
    folder = Path(tempfile.mkdtemp(prefix="laurel-fuzz-files-"))
    export, _ = registry.create("pdf_export", {"name": "Fuzz export", "folder": str(folder)}, actor="test")
    drop, _ = registry.create("file_drop", {"name": "Fuzz drop", "folder": str(folder)}, actor="test")
    copies = [ExportedPdf(integration_id=export.id, certificate_id=cert.id, pdf_key=f"pdfs/{cert.id}.pdf",
                          status=status, attempts=4)
              for cert, status in ((world.lena_cert, "failed"), (world.other_cert, "exported"))]
    db.session.add_all(copies)
    db.session.commit()
    return {"integrations": [webhook.id, export.id, drop.id], "deliveries": [delivery_id],
            "copy_ids": [row.id for row in copies]}


def _seed(app, world, admin, staff, path: str) -> dict[str, list[int]]:
    """Add a revoked certificate to the `world` (and integrations for their operations); the ids of each
    resource, for path parameters."""
    revocation.revoke(world.other_cert, "Fuzzing: a revoked certificate to reinstate.", actor="test")
    db.session.commit()
    extra = _seed_integrations(app, world) if path.split("/")[3] in ("integrations", "deliveries") else {}
    return {**extra,
        "courses": [world.fa101.id, world.fa102.id, world.cpr.id],
        "certifications": [world.first_aid.id, world.draft.id],
        "users": [admin.id, staff.id, world.lena_cert.user_id, world.other.id],
        "enrollments": list(db.session.scalars(db.select(Enrollment.id))),
        "certificates": list(db.session.scalars(db.select(Certificate.id))),
    }


# Body and query fields naming rows, and the resource whose ids they take.
REFERENCES = {"user_id": "users", "course_id": "courses", "certification_id": "certifications",
              "course_ids": "courses", "prerequisite_ids": "certifications"}


def _with_real_references(case, ids: dict[str, list[int]]):
    """Valid cases with random ids rarely name a row (POST /enrollments would never succeed): each id field
    present in the body or query string is drawn from real rows, or left as generated."""
    containers = [c for c in (case.body, case.query) if isinstance(c, dict)]
    fields = [(c, name) for c in containers for name in c if name in REFERENCES and ids.get(REFERENCES[name])]
    if not fields:
        return st.just(case)

    def real(choice: str):
        pool = ids[REFERENCES[choice]]
        return st.lists(st.sampled_from(pool), max_size=3, unique=True) if choice.endswith("_ids") \
            else st.sampled_from(pool)

    def apply(values: list) -> object:
        for (container, name), value in zip(fields, values, strict=True):
            if value is not None:
                container[name] = value
        return case

    return st.tuples(*(st.one_of(st.none(), real(name)) for _, name in fields)).map(lambda v: apply(list(v)))


def _strategy(operation: schemathesis.APIOperation, mode: GenerationMode, ids: dict[str, list[int]]):
    generated = operation.as_strategy(mode)
    if mode is GenerationMode.POSITIVE:
        generated = generated.flatmap(lambda case: _with_real_references(case, ids))
    if "{id}" not in operation.path:
        return generated
    existing = ids.get(operation.path.split("/")[3])  # /api/v1/<resource>/{id}
    if not existing:
        return generated
    copies = ids.get("copy_ids") if "{copy_id}" in operation.path else None
    real = st.tuples(st.sampled_from(existing), st.sampled_from(copies) if copies else st.none()).flatmap(
        lambda pair: operation.as_strategy(mode, path_parameters={
            "id": pair[0], **({"copy_id": pair[1]} if pair[1] else {})}))
    if mode is GenerationMode.POSITIVE:
        real = real.flatmap(lambda case: _with_real_references(case, ids))
    return st.one_of(real, generated)


def _fuzz(operation: schemathesis.APIOperation, ids: dict[str, list[int]], headers: dict[str, str],
          examples: int) -> Callable[[], None]:
    strategy = st.one_of(_strategy(operation, GenerationMode.POSITIVE, ids),
                         _strategy(operation, GenerationMode.NEGATIVE, ids))

    @settings(max_examples=examples, deadline=None, derandomize=not RANDOM, database=None, print_blob=False,
              phases=(Phase.explicit, Phase.generate, Phase.shrink),
              suppress_health_check=(HealthCheck.too_slow, HealthCheck.filter_too_much,
                                     HealthCheck.data_too_large))
    @given(case=strategy)
    def run(case) -> None:
        # Negative cases may drop the Authorization header ("missing required security"): put it back, the
        # role is what this test is about (no credentials and bad tokens: test_auth.py).
        case.headers = {**(case.headers or {}), **headers}
        response = case.call_and_validate(checks=CHECKS)
        if STATS is not None:
            STATS[f"{operation.method.upper()} {operation.path}"][response.status_code] += 1

    return run


def _refuses(operation: schemathesis.APIOperation, role: str) -> bool:
    """Operations this role may not call (403 documented): a few examples are enough."""
    return role == "learner" and "403" in operation.definition.raw["responses"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_api_holds_up(app, fuzz_schema, method: str, path: str, role: str, world, admin, staff, learner,
                      token_for):
    ids = _seed(app, world, admin, staff, path)
    user = admin if role == "admin" else learner
    headers = {"Authorization": f"Bearer {token_for(user)}"}
    operation = fuzz_schema[path][method]
    examples = 5 if _refuses(operation, role) else EXAMPLES
    _fuzz(operation, ids, headers, examples)()
