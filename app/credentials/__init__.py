"""The credential engine: keys, JSON-LD proofs, VC-JWT, status lists, PDF signatures, badge baking.

Pure functions on bytes and dicts: no database, no Flask. The services in app/services/credentials
decide what to sign and with which key."""
