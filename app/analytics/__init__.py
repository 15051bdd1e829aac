"""The Analytics page, its CSV exports, and the analytics JSON API (`api.py`)."""
