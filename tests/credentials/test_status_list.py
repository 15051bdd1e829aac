"""Revocation that travels: the W3C Bitstring Status List engine, the random entries, the served list.

The engine is checked against the spec's published encodedList and, for everything we serve, against an
independent decoder written here from the spec with the standard library only (base64 + gzip).
"""

from __future__ import annotations

import base64
import gzip
import json
import threading
import tracemalloc
import zlib

import pytest
from sqlalchemy import delete, select

from app.credentials import status_list
from app.credentials.errors import CredentialError
from app.extensions import db
from app.models import Certificate, StatusListEntry
from app.services.credentials import keyring, status
from app.services.lifecycle import revocation
from tests.support import certificates as certificate_fixtures
from tests.support.independent_verifier import Invalid, verify_ldp

certification = certificate_fixtures.certification  # fixtures: First Aid Level 2, issue(user, when=...)
issue = certificate_fixtures.issue

# The W3C Bitstring Status List v1.0 Recommendation, Example 3 (and every example of its appendix): the
# all-zero list of the minimum size, 131,072 entries.
SPEC_ENCODED_LIST = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"
# digitalbazaar/vc-bitstring-status-list's test vector: an all-zero list of 100,000 entries (below the
# spec's minimum: decodes only where an ecosystem sets a lower bound).
LIST_100K = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQsvoAAAAAAAAAAAAAAAAP4GcwM92tQwAAA"


def stdlib_decode(encoded: str) -> bytes:
    """The spec's Bitstring Expansion Algorithm, independently: multibase "u" + base64url, then GZIP."""
    assert encoded[0] == "u"
    text = encoded[1:]
    return gzip.decompress(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def stdlib_bit(bits: bytes, index: int) -> int:
    """Index 0 is the left-most bit of the first byte."""
    return (bits[index // 8] >> (7 - index % 8)) & 1


def _encoded(raw: bytes) -> str:
    return "u" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


# ---------------------------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------------------------


def test_the_empty_minimum_list_encodes_to_the_spec_example_byte_for_byte():
    assert status_list.encode(status_list.empty()) == SPEC_ENCODED_LIST
    assert stdlib_decode(SPEC_ENCODED_LIST) == bytes(16384)
    assert status_list.decode(SPEC_ENCODED_LIST) == bytes(16384)
    assert status_list.bit(SPEC_ENCODED_LIST, 0) is False
    assert status_list.bit(SPEC_ENCODED_LIST, 131071) is False


def test_other_implementations_vectors_decode_and_the_spec_minimum_is_enforced():
    assert status_list.decode(LIST_100K, minimum_entries=100_000) == bytes(12_500)
    with pytest.raises(CredentialError, match="fewer than the 131072 required"):
        status_list.decode(LIST_100K)
    with pytest.raises(CredentialError, match="at least 131072"):
        status_list.encode(bytes(12_500))


def test_bits_are_left_most_first_and_round_trip_through_an_independent_decoder():
    indices = [0, 9, 4242, 131_071]
    encoded = status_list.encode(status_list.with_bits_set(indices))
    bits = stdlib_decode(encoded)
    assert len(bits) == 16384 and bits[0] == 0x80 and bits[1] == 0x40 and bits[-1] == 0x01
    assert [i for i in range(131_072) if stdlib_bit(bits, i)] == indices
    assert [status_list.bit(encoded, i) for i in (0, 1, 8, 9, 4242, 131_070, 131_071)] == [
        True, False, False, True, True, False, True]
    cleared = status_list.with_bits_set(indices)
    status_list.set_bit(cleared, 9, False)
    assert not status_list.bit(bytes(cleared), 9) and status_list.bit(bytes(cleared), 0)


def test_a_gzip_bomb_is_refused_without_inflating_it():
    bomb = _encoded(gzip.compress(bytes(32 * 1024 * 1024), compresslevel=1))  # 32 MB of zeros, 140 KB
    tracemalloc.start()
    try:
        with pytest.raises(CredentialError, match="larger than"):
            status_list.decode(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 6 * 1024 * 1024  # the cap (2 MiB) and the input, never the 32 MB


@pytest.mark.parametrize("value, message", [
    ("", "non-empty string"),
    (None, "non-empty string"),
    (12, "non-empty string"),
    (SPEC_ENCODED_LIST[1:], 'start with "u"'),  # StatusList2021 style: no multibase prefix
    ("zH4sIAAAAAAAAA", 'start with "u"'),  # base58btc prefix
    ("uH4sI+AAAAAAAA/3BMQ", "not valid base64url"),  # base64, not base64url
    (SPEC_ENCODED_LIST + "==", "not valid base64url"),  # padding
    (SPEC_ENCODED_LIST + "A", "not valid base64url"),  # 4n+1 characters
    ("u" + "A" * 40, "not GZIP"),
    ("uH4sIAAAAAAAAA\n-3BMQ", "not valid base64url"),
    ("u\u0661\u0662", "not valid base64url"),
    ("u" + "A" * (status_list.MAX_ENCODED_CHARS + 1), "too long"),
])
def test_malformed_encodings_are_refused(value, message):
    with pytest.raises(CredentialError, match=message):
        status_list.decode(value)


def test_broken_gzip_streams_are_refused():
    good = gzip.compress(bytes(16384), mtime=0)
    truncated = good[:-12]
    bad_crc = good[:-8] + bytes(4) + good[-4:]
    two_members = good + good
    deflate_only = zlib.compress(bytes(16384))
    garbage = b"\x1f\x8b" + bytes(40)
    for raw, message in [(truncated, "truncated"), (bad_crc, "not valid GZIP"),
                         (two_members, "data after"), (deflate_only, "not GZIP"), (garbage, "GZIP")]:
        with pytest.raises(CredentialError, match=message):
            status_list.decode(_encoded(raw))


@pytest.mark.parametrize("index", [-1, 131_072, 10**30, True, 1.5, "3"])
def test_indices_outside_the_list_are_refused(index):
    with pytest.raises(CredentialError):
        status_list.bit(SPEC_ENCODED_LIST, index)


@pytest.mark.parametrize("value, expected", [("0", 0), ("131071", 131071), (42, 42)])
def test_status_list_index_values(value, expected):
    assert status_list.parse_index(value) == expected


@pytest.mark.parametrize("value", ["", "-1", "1.0", " 1", "\u0661", "9" * 13, "99999999999", None, True, [1],
                                   -3])
def test_bad_status_list_index_values(value):
    with pytest.raises(CredentialError):
        status_list.parse_index(value)


# ---------------------------------------------------------------------------------------------
# Entries: random, unique, on issue and lazily
# ---------------------------------------------------------------------------------------------


def _entries() -> dict[int, tuple[int, int]]:
    return {row.certificate_id: (row.list_number, row.list_index)
            for row in db.session.scalars(select(StatusListEntry))}


def test_issuing_assigns_random_distinct_indices_not_a_run(make_user, issue):
    certificates = [issue(make_user(email=f"learner{i}@example.org")) for i in range(50)]
    entries = _entries()
    assert set(entries) == {c.id for c in certificates}
    indices = [entries[c.id][1] for c in certificates]  # in issue order
    assert {entries[c.id][0] for c in certificates} == {1}
    assert len(set(indices)) == 50 and all(0 <= i < status.LIST_SIZE for i in indices)
    steps = [b - a for a, b in zip(indices, indices[1:], strict=False)]
    assert sorted(indices) != indices and sorted(indices, reverse=True) != indices
    assert len(set(steps)) > 40  # not a run, not a stride
    assert max(indices) - min(indices) > status.LIST_SIZE // 4  # spread over the list


def test_a_renewal_gets_its_own_entry_and_the_old_one_keeps_its_own(learner, issue):
    from tests.support.certificates import at

    first = issue(learner, when=at(2026, 1, 10, 9))
    renewed = issue(learner, when=at(2027, 11, 1, 9), renewed_from=first)
    entries = _entries()
    assert set(entries) == {first.id, renewed.id} and entries[first.id] != entries[renewed.id]


def test_credential_status_names_the_entry_and_assigns_one_lazily(app, learner, issue):
    cert = issue(learner)
    db.session.execute(delete(StatusListEntry))  # a certificate from before status lists existed
    db.session.commit()
    entry = status.credential_status(cert)
    db.session.commit()
    (number, index), = _entries().values()
    url = f"{app.config['BASE_URL']}/credentials/status/{number}"
    assert entry == {"id": f"{url}#{index}", "type": "BitstringStatusListEntry",
                     "statusPurpose": "revocation", "statusListIndex": str(index),
                     "statusListCredential": url}
    assert status.credential_status(cert) == entry  # stable once assigned


def test_a_credential_download_commits_its_lazily_assigned_entry_on_its_own(client, learner, issue):
    """A GET commits nothing: the entry is committed apart, so every download names the same index."""
    cert = issue(learner)
    db.session.execute(delete(StatusListEntry))
    db.session.commit()
    first = json.loads(client.get(f"/credentials/{cert.code}").get_data())["credentialStatus"]
    with db.engine.connect() as other:  # what another process sees: committed rows only
        committed = other.execute(select(StatusListEntry.list_number, StatusListEntry.list_index)).all()
    assert committed == [(1, int(first["statusListIndex"]))]
    db.session.rollback()
    assert json.loads(client.get(f"/credentials/{cert.code}").get_data())["credentialStatus"] == first


def test_an_uncommitted_certificate_gets_its_entry_in_the_same_transaction(learner, certification):
    from app.services.lifecycle import issuing

    cert = issuing.issue(learner, certification, actor="test", note="test issue")
    db.session.execute(delete(StatusListEntry).where(StatusListEntry.certificate_id == cert.id))
    entry = status.credential_status(cert)  # not committed yet: cannot be placed apart
    db.session.rollback()
    assert _entries() == {} and entry["statusListIndex"].isdigit()


def test_a_taken_index_is_drawn_again(monkeypatch, make_user, issue):
    first = issue(make_user(email="a@example.org"))
    taken = _entries()[first.id][1]
    draws = iter([taken, taken, 77 if taken != 77 else 78])
    fake = type("FakeSecrets", (), {"randbelow": staticmethod(lambda n: next(draws))})
    monkeypatch.setattr(status, "secrets", fake)
    second = issue(make_user(email="b@example.org"))
    assert _entries()[second.id] == (1, 77 if taken != 77 else 78)


def test_a_new_list_opens_when_the_current_one_is_three_quarters_full(monkeypatch, client, make_user, issue):
    monkeypatch.setattr(status, "FILL", 3)
    monkeypatch.setattr(status, "_fill", {})  # this process's count of the newest list, from earlier tests
    certificates = [issue(make_user(email=f"l{i}@example.org")) for i in range(5)]
    entries = _entries()
    assert [entries[c.id][0] for c in certificates] == [1, 1, 1, 2, 2]
    assert client.get("/credentials/status/2").status_code == 200
    assert client.get("/credentials/status/3").status_code == 404


def test_an_issue_does_not_count_the_list_each_time_but_sees_a_list_opened_elsewhere(
        monkeypatch, make_user, issue, statements):
    monkeypatch.setattr(status, "_fill", {})
    first = issue(make_user(email="one@example.org"))
    statements.clear()
    issue(make_user(email="two@example.org"))
    counts = [s for s in statements if "count(" in s.lower() and "status_list_entries" in s]
    assert counts == []  # counted once for this process (recounted each FILL_RECOUNT_SECONDS)
    # Another process opened list 2 meanwhile: the next entry goes there too.
    db.session.execute(StatusListEntry.__table__.update().where(StatusListEntry.certificate_id == first.id)
                       .values(list_number=2))
    db.session.commit()
    third = issue(make_user(email="three@example.org"))
    assert _entries()[third.id][0] == 2


# ---------------------------------------------------------------------------------------------
# The served list
# ---------------------------------------------------------------------------------------------


def _served_bits(client, number: int = 1) -> tuple[bytes, dict, object]:
    response = client.get(f"/credentials/status/{number}")
    assert response.status_code == 200
    document = json.loads(response.get_data())
    return stdlib_decode(document["credentialSubject"]["encodedList"]), document, response


def test_the_list_credential_has_the_spec_shape_and_cache_headers(app, client, learner, issue):
    issue(learner)
    bits, document, response = _served_bits(client)
    url = f"{app.config['BASE_URL']}/credentials/status/1"
    assert document["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    assert document["id"] == url
    assert document["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert document["issuer"].startswith("did:web:")
    assert document["validFrom"].endswith("Z")
    assert document["credentialSubject"] | {"encodedList": None} == {
        "id": f"{url}#list", "type": "BitstringStatusList", "statusPurpose": "revocation",
        "encodedList": None, "ttl": 30000}  # ms, aligned with Cache-Control as the spec asks
    assert document["proof"]["created"] == document["validFrom"]
    assert bits == bytes(16384)
    assert response.mimetype == "application/vc" and "Accept" in response.headers["Vary"]
    for accept in ("application/ld+json", "application/json"):
        asked = client.get("/credentials/status/1", headers={"Accept": accept})
        assert asked.mimetype == accept and asked.headers["ETag"] != response.headers["ETag"]
    assert response.headers["Cache-Control"] == "public, max-age=30"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Set-Cookie" not in response.headers
    again = client.get("/credentials/status/1", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_revoking_sets_the_bit_on_the_next_fetch_and_reinstating_clears_it(client, make_user, issue):
    kept = issue(make_user(email="kept@example.org"))
    revoked = issue(make_user(email="gone@example.org"))
    entries = _entries()
    before, _, first = _served_bits(client)
    assert not stdlib_bit(before, entries[revoked.id][1])

    revocation.revoke(revoked, "Exam fraud", actor="test")
    db.session.commit()  # bumps the generation: every process renders the list afresh
    after, _, second = _served_bits(client)
    assert stdlib_bit(after, entries[revoked.id][1]) and not stdlib_bit(after, entries[kept.id][1])
    assert sum(bin(b).count("1") for b in after) == 1
    assert second.headers["ETag"] != first.headers["ETag"]

    revocation.reinstate(revoked, actor="test")
    db.session.commit()
    cleared, _, _ = _served_bits(client)
    assert cleared == bytes(16384)


def test_the_served_list_verifies_with_an_independent_verifier_against_did_json(client, learner, issue):
    cert = issue(learner)
    revocation.revoke(cert, "Exam fraud", actor="test")
    db.session.commit()
    _, document, _ = _served_bits(client)
    did = client.get("/.well-known/did.json").get_json()
    method = verify_ldp(document, did)  # pyld URDNA2015 (safe mode: every term defined) + cryptography
    assert method == did["assertionMethod"][0] and method.startswith(document["issuer"] + "#")
    assert document["proof"]["cryptosuite"] == "eddsa-rdfc-2022"

    tampered = json.loads(json.dumps(document))  # a copy with the revocation bit cleared
    tampered["credentialSubject"]["encodedList"] = status_list.encode(status_list.empty())
    with pytest.raises(Invalid, match="signature does not match"):
        verify_ldp(tampered, did)


def test_after_a_key_rotation_the_list_is_signed_with_the_new_key(client, learner, issue, admin):
    issue(learner)
    _, before, _ = _served_bits(client)
    keyring.rotate(admin)
    db.session.commit()  # bumps the signing keys, which the list's generation follows
    _, after, _ = _served_bits(client)
    did = client.get("/.well-known/did.json").get_json()
    assert after["proof"]["verificationMethod"] != before["proof"]["verificationMethod"]
    assert verify_ldp(after, did) == did["assertionMethod"][0]
    assert verify_ldp(before, did) == before["proof"]["verificationMethod"]  # the old key stays published


def test_an_uploaded_credentials_entry_is_read_against_our_list(client, make_user, issue):
    """What the verify page asks for a credential someone uploads: its bit, from our own rows."""
    kept = issue(make_user(email="kept@example.org"))
    gone = issue(make_user(email="gone@example.org"))
    revocation.revoke(gone, "Exam fraud", actor="test")
    db.session.commit()
    kept_entry, gone_entry = status.credential_status(kept), status.credential_status(gone)
    assert status.revoked_in_our_list(kept_entry) is False
    assert status.revoked_in_our_list(gone_entry) is True
    assert status.revoked_in_our_list([{"type": "Other"}, gone_entry]) is True  # credentialStatus as a list
    bits, _, _ = _served_bits(client)  # the published bit agrees
    assert stdlib_bit(bits, int(gone_entry["statusListIndex"])) == 1
    free = next(i for i in range(status.LIST_SIZE) if i not in {int(kept_entry["statusListIndex"]),
                                                                 int(gone_entry["statusListIndex"])})
    assert status.revoked_in_our_list(gone_entry | {"statusListIndex": str(free)}) is False  # nobody's bit
    revocation.reinstate(gone, actor="test")
    db.session.commit()
    assert status.revoked_in_our_list(gone_entry) is False


@pytest.mark.parametrize("change", [
    {"statusListCredential": "https://elsewhere.example/credentials/status/1"},
    {"statusListCredential": "http://localhost/credentials/status/01"},
    {"statusListCredential": "http://localhost/credentials/status/1?x=1"},
    {"statusListCredential": "http://localhost/credentials/status/\u0661"},
    {"statusListCredential": "http://localhost/credentials/status/" + "9" * 40},
    {"statusListCredential": None},
    {"statusListCredential": "http://localhost/credentials/status/0"},
    {"statusListCredential": "http://localhost/credentials/status/5"},  # no such list (yet)
    {"statusListIndex": "-1"}, {"statusListIndex": "131072"}, {"statusListIndex": "1e3"},
    {"statusListIndex": None}, {"statusListIndex": "9" * 5000},
    {"statusPurpose": "suspension"}, {"type": "StatusList2021Entry"},
])
def test_entries_that_are_not_ours_or_malformed_answer_unknown(learner, issue, change):
    entry = status.credential_status(issue(learner)) | change
    assert status.revoked_in_our_list(entry) is None


@pytest.mark.parametrize("value", [None, "x", 5, [], [None], {}, [[{}]]])
def test_no_entry_at_all_answers_unknown(value):
    assert status.revoked_in_our_list(value) is None


def test_without_redis_every_fetch_builds_the_list_from_the_database(monkeypatch, client, learner, issue):
    import redis

    from app.views.credentials import status as view

    cert = issue(learner)

    def unreachable(name):
        raise redis.ConnectionError("down")

    monkeypatch.setattr(view.generations, "current", unreachable)
    assert _served_bits(client)[0] == bytes(16384)
    cert.revoked_at, cert.revoke_reason = cert.issued_at, "Fraud"  # no generation bump reaches anyone
    db.session.commit()
    bits, _, _ = _served_bits(client)
    assert stdlib_bit(bits, _entries()[cert.id][1])


def test_the_rendered_list_is_reused_until_the_generation_moves(client, learner, issue, statements):
    issue(learner)
    first = client.get("/credentials/status/1")
    statements.clear()
    second = client.get("/credentials/status/1")
    assert second.get_data() == first.get_data()
    assert not [s for s in statements if "status_list_entries" in s]


@pytest.mark.parametrize("path", ["/credentials/status/2", "/credentials/status/0", "/credentials/status/-1",
                                  "/credentials/status/abc", "/credentials/status/99999999999999999999",
                                  "/credentials/status/%D9%A1", "/credentials/status/1.0"])
def test_unknown_lists_are_404(client, path):
    assert client.get(path).status_code == 404


def test_an_unknown_list_says_so_to_any_origin_and_head_works(client):
    missing = client.get("/credentials/status/7")
    assert missing.mimetype == "application/problem+json"
    assert missing.headers["Access-Control-Allow-Origin"] == "*"
    head = client.head("/credentials/status/1")
    assert head.status_code == 200 and head.data == b"" and head.headers["ETag"]


def test_signed_in_visitors_get_a_private_answer(login_as, learner):
    response = login_as(learner).get("/credentials/status/1")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "private, no-cache"


def test_a_certificate_deleted_with_its_learner_leaves_the_list(client, make_user, issue):
    holder = make_user(email="leaver@example.org")
    cert = issue(holder)
    revocation.revoke(cert, "Left", actor="test")
    db.session.commit()
    bits, _, _ = _served_bits(client)
    assert sum(bin(b).count("1") for b in bits) == 1
    db.session.delete(db.session.get(Certificate, cert.id))
    db.session.commit()
    assert _entries() == {}
    assert _served_bits(client)[0] == bytes(16384)


# ---------------------------------------------------------------------------------------------
# Concurrency (PostgreSQL: real concurrent transactions)
# ---------------------------------------------------------------------------------------------

THREADS = 6


def test_concurrent_assignments_never_share_an_index(app, monkeypatch, make_user, issue):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers: the race needs PostgreSQL (DATABASE_URL=postgresql://...)")
    ids = []
    for i in range(THREADS):
        cert = issue(make_user(email=f"race{i}@example.org"))
        ids.append(cert.id)
    db.session.execute(delete(StatusListEntry))
    db.session.commit()
    # Every thread's first draw is the same index: all but one must collide and draw again.
    real = status.secrets.randbelow
    local = threading.local()

    def randbelow(n: int) -> int:
        if not getattr(local, "drawn", False):
            local.drawn = True
            return 4242
        return real(n)

    monkeypatch.setattr(status, "secrets", type("Secrets", (), {"randbelow": staticmethod(randbelow)}))
    start = threading.Barrier(THREADS, timeout=30)
    errors: list = []

    def run(i: int) -> None:
        try:
            with app.app_context():
                cert = db.session.get(Certificate, ids[i])
                start.wait()
                status.entry_for(cert)
                db.session.commit()
                db.session.remove()
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    db.session.expire_all()
    entries = _entries()
    assert set(entries) == set(ids)
    assert len(set(entries.values())) == THREADS
    assert sum(1 for number, index in entries.values() if (number, index) == (1, 4242)) == 1


# ---------------------------------------------------------------------------------------------
# The migration gives existing certificates their entries
# ---------------------------------------------------------------------------------------------


def test_the_migration_backfills_random_entries_for_existing_certificates(tmp_path):
    """Migration 0008's upgrade run by Alembic's operations on a database holding 200 certificates."""
    import importlib.util
    from pathlib import Path

    from alembic.migration import MigrationContext
    from alembic.operations import Operations
    from sqlalchemy import create_engine, text

    path = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0008_status_list.py"
    spec = importlib.util.spec_from_file_location("migration_0008", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    engine = create_engine(f"sqlite:///{tmp_path / 'backfill.db'}")
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE certificates (id INTEGER PRIMARY KEY)"))
            conn.execute(text("INSERT INTO certificates (id) VALUES (:id)"),
                         [{"id": i} for i in range(1, 201)])
            with Operations.context(MigrationContext.configure(conn)):
                migration.upgrade()
            rows = conn.execute(text("SELECT certificate_id, list_number, list_index"
                                     " FROM status_list_entries ORDER BY certificate_id")).all()
    finally:
        engine.dispose()
    assert [r.certificate_id for r in rows] == list(range(1, 201))
    indices = [r.list_index for r in rows]
    assert {r.list_number for r in rows} == {1} and len(set(indices)) == 200
    assert sorted(indices) != indices and all(0 <= i < status.LIST_SIZE for i in indices)
    assert (migration.LIST_SIZE, migration.FILL) == (status.LIST_SIZE, status.FILL)  # the frozen copies
