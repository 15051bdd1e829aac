"""JSON-LD for our credentials: the contexts we know, served from local copies, and RDFC-1.0.

Canonicalization never reaches the network: a context we do not bundle is an error, so a document
cannot make a verifier fetch an address of its choosing, and results never depend on a remote file
changing. The copies in contexts/ are the published documents (VC 2.0, Open Badges 3.0.3, DID 1.0,
Multikey, and the W3C examples context the specification's test vectors use).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from pyld import jsonld

from app.credentials.errors import CredentialError

VC_V2 = "https://www.w3.org/ns/credentials/v2"
VC_EXAMPLES_V2 = "https://www.w3.org/ns/credentials/examples/v2"
OB_V3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
DID_V1 = "https://www.w3.org/ns/did/v1"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"

_FOLDER = Path(__file__).parent / "contexts"
_FILES = {
    VC_V2: "credentials-v2.jsonld",
    VC_EXAMPLES_V2: "credentials-examples-v2.jsonld",
    OB_V3: "ob-context-3.0.3.json",
    DID_V1: "did-v1.jsonld",
    MULTIKEY_V1: "multikey-v1.jsonld",
}
KNOWN_CONTEXTS = frozenset(_FILES)


@cache
def _context(url: str) -> dict[str, Any]:
    return json.loads((_FOLDER / _FILES[url]).read_text(encoding="utf-8"))


def document_loader(url: str, options: dict | None = None) -> dict[str, Any]:
    """pyld's document loader: our bundled contexts, nothing else."""
    if url not in _FILES:
        raise CredentialError(f"unknown JSON-LD context {url[:200]!r}: only the bundled contexts are used")
    # "tag": "static" lets pyld keep the processed context between calls (it caches only tagged
    # documents); our copies never change, and re-processing them was most of a signature's time.
    return {"contextUrl": None, "documentUrl": url, "document": _context(url), "tag": "static"}


def canonize(document: dict[str, Any]) -> str:
    """The RDFC-1.0 (URDNA2015) canonical N-Quads of a JSON-LD document."""
    try:
        return jsonld.normalize(
            document,
            {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": document_loader,
             "safe": True},
        )
    except CredentialError:
        raise
    except jsonld.JsonLdError as exc:
        raise CredentialError(f"the document is not valid JSON-LD for our contexts: {_reason(exc)}") from exc
    except (TypeError, ValueError, KeyError, RecursionError) as exc:
        raise CredentialError("the document is not valid JSON-LD") from exc


def _reason(exc: BaseException) -> str:
    """Our own CredentialError when pyld wrapped one, else the type of the innermost JSON-LD error."""
    innermost: BaseException | None = exc
    while innermost is not None:
        if isinstance(innermost, CredentialError):
            return str(innermost)
        last, innermost = innermost, getattr(innermost, "cause", None) or innermost.__cause__
    return str(getattr(last, "type", None) or last.__class__.__name__)[:200]
