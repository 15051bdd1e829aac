"""Schemathesis over the whole API: every documented operation, as an admin and as a learner.

The schema is the app's own /api/v1/openapi.json, loaded in-process (WSGI). Each (operation, role) is one
test with its own small world (courses, certifications, learners, enrollments, certificates, one revoked),
so writes made while fuzzing one operation never leak into another. Generated cases are both valid
(positive) and invalid (negative) data; path ids are drawn half from real rows, half from the generator.
Checks: no 5xx, every status, content type, header and body as documented.

Bounded and derandomised so CI is reproducible: FUZZ_EXAMPLES (default 20) per operation and role. To dig
deeper locally: `FUZZ_EXAMPLES=200 FUZZ_RANDOM=1 .venv/bin/pytest tests/api/test_schemathesis.py`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
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
from app.api.external import HTTP_METHODS
from app.api.openapi import build_document
from app.extensions import db
from app.models import Certificate, Enrollment
from app.services import revocation

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
RANDOM = os.environ.get("FUZZ_RANDOM") == "1"  # explore beyond the fixed examples (locally, not in CI)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
ROLES = ("admin", "learner")

# Hypothesis caches under ./.hypothesis by default; a stray one in the repo makes its pytest plugin warn
# (an error here). Keep it in the run's temporary instance folder, removed at the end of the session.
set_hypothesis_home_dir(Path(os.environ["LAUREL_INSTANCE_PATH"]) / "hypothesis")


def _documented_operations() -> list[tuple[str, str]]:
    """(METHOD, path) of every operation in the document, known at collection time: the @endpoint routes
    plus every fragment (app/api/external.py), as the app's blueprints serve them."""
    bare = Flask(__name__)
    register_blueprints(bare)  # routes only: no database, Redis or configuration needed
    with bare.app_context():
        paths = build_document(bare)["paths"]
    return sorted((method.upper(), path) for path, item in paths.items() for method in item
                  if method in HTTP_METHODS)


OPERATIONS = _documented_operations()


@pytest.fixture(scope="module")
def fuzz_schema(app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def test_every_operation_is_fuzzed(fuzz_schema):
    """The collected list is the app's real document: nothing is left out of the fuzzing."""
    served = sorted((method.upper(), path) for path, item in fuzz_schema.raw_schema["paths"].items()
                    for method in item if method in HTTP_METHODS)
    assert served == OPERATIONS


def _seed(world, admin, staff) -> dict[str, list[int]]:
    """Add a revoked certificate to the `world`; the ids of each resource, for path parameters."""
    revocation.revoke(world.other_cert, "Fuzzing: a revoked certificate to reinstate.", actor="test")
    db.session.commit()
    return {
        "courses": [world.fa101.id, world.fa102.id, world.cpr.id],
        "certifications": [world.first_aid.id, world.draft.id],
        "users": [admin.id, staff.id, world.lena_cert.user_id, world.other.id],
        "enrollments": list(db.session.scalars(db.select(Enrollment.id))),
        "certificates": list(db.session.scalars(db.select(Certificate.id))),
    }


def _strategy(operation, mode: GenerationMode, ids: dict[str, list[int]]):
    generated = operation.as_strategy(mode)
    if "{id}" not in operation.path:
        return generated
    existing = ids[operation.path.split("/")[3]]
    real = st.sampled_from(existing).flatmap(
        lambda item_id: operation.as_strategy(mode, path_parameters={"id": item_id}))
    return st.one_of(real, generated)


def _fuzz(operation, ids: dict[str, list[int]], headers: dict[str, str], examples: int) -> Callable[[], None]:
    strategy = st.one_of(_strategy(operation, GenerationMode.POSITIVE, ids),
                         _strategy(operation, GenerationMode.NEGATIVE, ids))

    @settings(max_examples=examples, deadline=None, derandomize=not RANDOM, database=None, print_blob=False,
              phases=(Phase.explicit, Phase.generate, Phase.shrink),
              suppress_health_check=(HealthCheck.too_slow, HealthCheck.filter_too_much,
                                     HealthCheck.data_too_large))
    @given(case=strategy)
    def run(case) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    return run


def _refuses(operation, role: str) -> bool:
    """Operations this role may not call (403 documented): a few examples are enough."""
    return role == "learner" and "403" in operation.definition.raw["responses"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_api_holds_up(fuzz_schema, method: str, path: str, role: str, world, admin, staff, token_for):
    ids = _seed(world, admin, staff)
    user = admin if role == "admin" else db.session.get(type(admin), world.lena_cert.user_id)
    headers = {"Authorization": f"Bearer {token_for(user)}"}
    operation = fuzz_schema[path][method]
    examples = 5 if _refuses(operation, role) else EXAMPLES
    _fuzz(operation, ids, headers, examples)()
