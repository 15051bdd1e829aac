"""The learner's data rights: export (exports.py, contents.py), erasure (erasure.py, scrubbing.py),
the organisation's policy (policy.py) and retention (retention.py). Reads every domain: its own layer
above the others in the import contract."""
