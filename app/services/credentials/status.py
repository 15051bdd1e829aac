"""Revocation that travels: each certificate's entry in a W3C Bitstring Status List, and the lists.

Every certificate gets one (list number, index) when it is issued or renewed (the `certificate.issued`
event), or lazily the first time its credential names it (certificates from before this existed and
rows written without the event). The index is drawn at random over the whole list, so its position says
nothing about when the certificate was issued or to whom; a new list opens once the current one is 3/4
full, which keeps collisions cheap (at most 1 in 4 draws retries) and every list at least 131,072 entries.

Two concurrent assignments never share an index: the unique (list_number, list_index) key refuses the
second INSERT (`ON CONFLICT DO NOTHING`, no exception, no savepoint) and it draws again.

The list credential (`status_list_credential(n)`) is computed from the database in one query (the
revoked certificates of that list), so revoking or reinstating changes it at once; the page caches the
rendered answer per process under the "status_list" generation, bumped by every commit that changes
`certificates.revoked_at` (or adds or removes certificates, or changes the signing keys).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, OperationalError

from app.credentials import data_integrity, status_list
from app.credentials.errors import CredentialError
from app.credentials.jsonld import VC_V2
from app.database import utcnow
from app.extensions import db
from app.models import Certificate, StatusListEntry
from app.services import events
from app.services.credentials import keyring
from app.services.lifecycle import generations
from app.services.messaging.outbox import external_url

LIST_SIZE = status_list.MIN_ENTRIES  # 131,072 entries, 16 KB: the spec's minimum, and our list size
FILL = LIST_SIZE * 3 // 4  # open the next list at 98,304 entries
ATTEMPTS_PER_LIST = 32  # 3/4 full: 0.75**32 = 1e-4 that all draws collide; then the next list
FILL_RECOUNT_SECONDS = 60  # each process counts the newest list's entries at most this often
_fill: dict = {}  # per process: how full the newest list is ({"number", "count", "until"}), see _open_list
APART_LOCK_TIMEOUT = "500ms"  # a lazy assignment in its own transaction gives up waiting after this
PURPOSE = "revocation"
# How long a verifier or proxy may keep a list (Cache-Control max-age and the list's `ttl`, which the spec
# asks to align): a revocation reaches every verifier within a minute.
TTL_SECONDS = 30

# What the published lists show: a commit that revokes or reinstates (or adds or removes certificates
# and their entries: a new list appears), or changes the signing keys (a rotation re-signs), bumps it,
# and every process renders the list afresh.
GENERATION = "status_list"
generations.track(GENERATION, {"certificates": frozenset({"revoked_at"}),
                               "status_list_entries": generations.ANY, "signing_keys": generations.ANY})


@dataclass(frozen=True)
class Entry:
    list_number: int
    list_index: int


class StatusListFull(RuntimeError):
    """No free index after drawing in several lists: never expected (lists open at 3/4 full)."""


# --------------------------------------------------------------------------------------------
# Assigning entries
# --------------------------------------------------------------------------------------------


def entry_for(cert: Certificate) -> Entry:
    """The certificate's entry, assigned now when it has none.

    A lazy assignment commits on its own at once when it can (the certificate is committed and the
    session holds no write lock): a credential read by a GET that never commits must name the same
    index on every download, not a new draw each time. Otherwise it joins the caller's transaction."""
    found = _entry_of(cert.id)
    if found is not None:
        return found
    if not _holds_sqlite_write_lock():
        try:
            with db.engine.begin() as connection:
                if connection.dialect.name == "postgresql":  # never wait on this session's own locks
                    connection.execute(text(f"SET LOCAL lock_timeout = '{APART_LOCK_TIMEOUT}'"))
                entry = assign(cert.id, connection)
        except (IntegrityError, OperationalError):  # the certificate is not committed yet (inserted by
            pass  # this transaction), or a row it needs is held by this session's uncommitted work
        else:
            generations.bump(GENERATION)  # a revoked certificate's bit appears in its list
            return entry
    return assign(cert.id)


def assign(certificate_id: int, connection=None) -> Entry:
    """Give the certificate a random free index in the open list (idempotent: an existing entry wins).
    In the session's transaction, or on `connection` (an engine connection in a transaction of its own)."""
    executor = connection if connection is not None else db.session
    number = _open_list(executor)
    for _list in range(8):
        for _draw in range(ATTEMPTS_PER_LIST):
            index = secrets.randbelow(LIST_SIZE)
            if _insert(executor, certificate_id, number, index):
                _count_assigned(number)
                return Entry(number, index)
            existing = _entry_of(certificate_id, executor)  # the conflict was on the certificate: placed
            if existing is not None:
                return existing
        number += 1  # this list is fuller than it should be (many concurrent openers): use the next
    raise StatusListFull(f"no free status list index for certificate {certificate_id}")


@events.subscribe("certificate.issued")
def _assign_on_issue(event: events.Event) -> None:
    # A renewal is a new certificate: it emits certificate.issued too (then certificate.renewed).
    assign(event.data["id"])


def _entry_of(certificate_id: int, executor=None) -> Entry | None:
    row = (executor or db.session).execute(select(StatusListEntry.list_number, StatusListEntry.list_index)
                                           .where(StatusListEntry.certificate_id == certificate_id)).first()
    return Entry(row.list_number, row.list_index) if row else None


def _holds_sqlite_write_lock() -> bool:
    """SQLite: the session's transaction has written, so it holds the one write lock; a second connection
    would wait out the busy timeout. (Reads run outside transactions there: app/database.py.)"""
    connection = db.session.connection()
    return connection.dialect.name == "sqlite" and bool(
        connection.connection.driver_connection.in_transaction)


def _insert(executor, certificate_id: int, number: int, index: int) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING: False when the index (or the certificate) is taken. On
    PostgreSQL a concurrent uncommitted holder of the same key makes this wait for its outcome."""
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    table = StatusListEntry.__table__
    # RETURNING: a row comes back only when it went in (psycopg's rowcount said -1 for the ORM insert).
    statement = dialect.insert(table).values(
        certificate_id=certificate_id, list_number=number, list_index=index, created_at=utcnow(),
    ).on_conflict_do_nothing().returning(table.c.id)
    return executor.execute(statement).first() is not None


def _open_list(executor) -> int:
    """The list new entries go to: the newest one, or the next once the newest holds FILL entries.

    Counting a list's entries reads up to 98,304 index entries; an issue should not pay that. Each process
    counts at most once a minute (or when another one has opened a newer list: the max is one index
    probe) and adds its own assignments meanwhile. Other processes' assignments go unseen for up to a
    minute: the 3/4 mark is a soft one (a full list still has 32,768 free indices, and `assign` moves on
    to the next list after repeated collisions)."""
    newest = executor.scalar(select(func.max(StatusListEntry.list_number))) or 1
    if _fill.get("number") != newest or _fill.get("until", 0.0) < time.monotonic():
        count = executor.scalar(select(func.count()).where(StatusListEntry.list_number == newest))
        _fill.update(number=newest, count=count, until=time.monotonic() + FILL_RECOUNT_SECONDS)
    return newest + 1 if _fill["count"] >= FILL else newest


def _count_assigned(number: int) -> None:
    if _fill.get("number") == number:
        _fill["count"] += 1


# --------------------------------------------------------------------------------------------
# What credentials carry, and the lists themselves
# --------------------------------------------------------------------------------------------


def list_url(number: int) -> str:
    return external_url("credentials.status_list", number=number)


def credential_status(cert: Certificate) -> dict:
    """The credential's `credentialStatus`: a BitstringStatusListEntry (assigns the entry if needed)."""
    entry = entry_for(cert)
    return entry_document(entry.list_number, entry.list_index)


def entry_document(number: int, index: int) -> dict:
    """A BitstringStatusListEntry naming index `index` of list `number`."""
    url = list_url(number)
    return {"id": f"{url}#{index}", "type": "BitstringStatusListEntry", "statusPurpose": PURPOSE,
            "statusListIndex": str(index), "statusListCredential": url}


def revoked_in_our_list(credential_status: object) -> bool | None:
    """For a credential someone hands us (an upload to the verify page): its bit in our status list.

    `credential_status` is the credential's `credentialStatus` (one entry or a list of them). True or
    False when it has a revocation BitstringStatusListEntry naming one of our lists, read from the same
    rows the published list is built from; None when it names none of ours or is malformed (a foreign
    issuer's list is not ours to answer for; the caller says "unknown")."""
    entries = credential_status if isinstance(credential_status, list) else [credential_status]
    for entry in entries[:8]:
        place = _our_place(entry)
        if place is not None and list_exists(place.list_number):
            return bool(db.session.scalar(
                select(Certificate.revoked_at.is_not(None))
                .join(StatusListEntry, StatusListEntry.certificate_id == Certificate.id)
                .where(StatusListEntry.list_number == place.list_number,
                       StatusListEntry.list_index == place.list_index)))
    return None


def _our_place(entry: object) -> Entry | None:
    """The (list, index) a BitstringStatusListEntry names, when the list is ours; None otherwise."""
    if not isinstance(entry, dict) or entry.get("type") != "BitstringStatusListEntry" \
            or entry.get("statusPurpose") != PURPOSE:
        return None
    url = entry.get("statusListCredential")
    prefix = list_url(1)[:-1]  # ".../credentials/status/"
    if not isinstance(url, str) or not url.startswith(prefix):
        return None
    number = url[len(prefix):]
    if not (0 < len(number) <= 9 and number.isascii() and number.isdigit()) or list_url(int(number)) != url:
        return None
    try:
        index = status_list.parse_index(entry.get("statusListIndex"))
    except CredentialError:
        return None
    return Entry(int(number), index) if index < LIST_SIZE else None


def list_exists(number: int) -> bool:
    """List 1 always exists (empty until the first certificate); later ones once they hold an entry."""
    if number == 1:
        return True
    newest = db.session.scalar(select(func.max(StatusListEntry.list_number))) or 1
    return 1 <= number <= newest


def revoked_indices(number: int) -> list[int]:
    """The indices whose bit is set in list `number`: its revoked certificates (one query)."""
    return list(db.session.scalars(
        select(StatusListEntry.list_index)
        .join(Certificate, Certificate.id == StatusListEntry.certificate_id)
        .where(StatusListEntry.list_number == number, Certificate.revoked_at.is_not(None))))


def unsigned_list_credential(number: int, now: datetime | None = None) -> dict | None:
    """The BitstringStatusListCredential of list `number` without its proof, or None (no such list)."""
    if not list_exists(number):
        return None
    now = (now or utcnow()).replace(microsecond=0)
    url = list_url(number)
    bits = status_list.with_bits_set(revoked_indices(number), LIST_SIZE)
    return {
        "@context": [VC_V2],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": keyring.issuer_did(),
        "validFrom": now.isoformat().replace("+00:00", "Z"),
        "credentialSubject": {"id": f"{url}#list", "type": "BitstringStatusList", "statusPurpose": PURPOSE,
                              "encodedList": status_list.encode(bits), "ttl": TTL_SECONDS * 1000},
    }


def status_list_credential(number: int, now: datetime | None = None) -> dict | None:
    """The list credential as published: signed (eddsa-rdfc-2022) with the organisation's active key,
    the proof created at the list's validFrom."""
    now = (now or utcnow()).replace(microsecond=0)
    document = unsigned_list_credential(number, now)
    if document is None:
        return None
    signer = keyring.signer()
    return data_integrity.add_proof(document, signer.private_key, signer.verification_method, created=now)
