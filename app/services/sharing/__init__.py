"""Sharing certificates: public/private, by email and LinkedIn (shares.py), and engagement counts."""
