"""Credentials: the organisation's signing keys, Open Badges 3.0 credentials, status lists, signed PDFs,
verification of uploaded files, public profiles and badges."""
