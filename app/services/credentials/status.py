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
`certificates.revoked_at`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from app.credentials import status_list
from app.database import utcnow
from app.extensions import db
from app.models import Certificate, StatusListEntry
from app.services import events
from app.services.lifecycle import generations
from app.services.messaging.outbox import external_url

LIST_SIZE = status_list.MIN_ENTRIES  # 131,072 entries, 16 KB: the spec's minimum, and our list size
FILL = LIST_SIZE * 3 // 4  # open the next list at 98,304 entries
ATTEMPTS_PER_LIST = 32  # 3/4 full: 0.75**32 = 1e-4 that all draws collide; then the next list
PURPOSE = "revocation"
VC_V2 = "https://www.w3.org/ns/credentials/v2"

# What the published lists show: a commit that revokes or reinstates (or adds or removes certificates
# and their entries: a new list appears) bumps it, and every process renders the list afresh.
GENERATION = "status_list"
generations.track(GENERATION, {"certificates": frozenset({"revoked_at"}),
                               "status_list_entries": generations.ANY})


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
    """The certificate's entry, assigned now when it has none (flushed: the caller's commit keeps it,
    or the next call draws again; nothing can have seen an uncommitted index)."""
    found = _entry_of(cert.id)
    return found if found is not None else assign(cert.id)


def assign(certificate_id: int) -> Entry:
    """Give the certificate a random free index in the open list (idempotent: an existing entry wins)."""
    number = _open_list()
    for _list in range(8):
        for _draw in range(ATTEMPTS_PER_LIST):
            index = secrets.randbelow(LIST_SIZE)
            if _insert(certificate_id, number, index):
                _count_assigned(number)
                return Entry(number, index)
            existing = _entry_of(certificate_id)  # the conflict was on the certificate: already placed
            if existing is not None:
                return existing
        number += 1  # this list is fuller than it should be (many concurrent openers): use the next
    raise StatusListFull(f"no free status list index for certificate {certificate_id}")


@events.subscribe("certificate.issued")
@events.subscribe("certificate.renewed")
def _assign_on_issue(event: events.Event) -> None:
    # A renewal emits both events for its one new certificate: the second call finds the entry.
    assign(event.data["id"])


def _entry_of(certificate_id: int) -> Entry | None:
    row = db.session.execute(select(StatusListEntry.list_number, StatusListEntry.list_index)
                             .where(StatusListEntry.certificate_id == certificate_id)).first()
    return Entry(row.list_number, row.list_index) if row else None


def _insert(certificate_id: int, number: int, index: int) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING: False when the index (or the certificate) is taken. On
    PostgreSQL a concurrent uncommitted holder of the same key makes this wait for its outcome."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(StatusListEntry).values(
        certificate_id=certificate_id, list_number=number, list_index=index, created_at=utcnow(),
    ).on_conflict_do_nothing()
    return db.session.execute(statement).rowcount == 1


def _open_list() -> int:
    """The list new entries go to: the newest one, or a new one once it holds FILL entries.

    Inside `events.batch()` (a CSV import issuing thousands) the count is read once and kept."""
    cache = events.batch_cache()
    if cache is not None and "status_list_fill" in cache:
        number, count = cache["status_list_fill"]
    else:
        number = db.session.scalar(select(func.max(StatusListEntry.list_number))) or 1
        count = db.session.scalar(select(func.count()).where(StatusListEntry.list_number == number))
    if count >= FILL:
        number, count = number + 1, 0
    if cache is not None:
        cache["status_list_fill"] = [number, count]
    return number


def _count_assigned(number: int) -> None:
    cache = events.batch_cache()
    if cache is not None and cache.get("status_list_fill", [None])[0] == number:
        cache["status_list_fill"][1] += 1


# --------------------------------------------------------------------------------------------
# What credentials carry, and the lists themselves
# --------------------------------------------------------------------------------------------


def list_url(number: int) -> str:
    return external_url("credentials.status_list", number=number)


def credential_status(cert: Certificate) -> dict:
    """The credential's `credentialStatus`: a BitstringStatusListEntry (assigns the entry if needed)."""
    entry = entry_for(cert)
    url = list_url(entry.list_number)
    return {"id": f"{url}#{entry.list_index}", "type": "BitstringStatusListEntry", "statusPurpose": PURPOSE,
            "statusListIndex": str(entry.list_index), "statusListCredential": url}


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
        "issuer": issuer_id(),
        "validFrom": now.isoformat().replace("+00:00", "Z"),
        "credentialSubject": {"id": f"{url}#list", "type": "BitstringStatusList", "statusPurpose": PURPOSE,
                              "encodedList": status_list.encode(bits)},
    }


def status_list_credential(number: int, now: datetime | None = None) -> dict | None:
    """The list credential as published: signed with the organisation's key."""
    document = unsigned_list_credential(number, now)
    return None if document is None else _sign(document)


def issuer_id() -> str:
    """The organisation's did:web DID, from BASE_URL (host, and port as %3A)."""
    from urllib.parse import urlsplit

    parts = urlsplit(current_app.config["BASE_URL"])
    host = parts.hostname or "localhost"
    return f"did:web:{host}%3A{parts.port}" if parts.port else f"did:web:{host}"


def _sign(document: dict) -> dict:
    return document  # replaced by the keyring's signature once it exists
