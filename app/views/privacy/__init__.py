"""The learner's data rights: Profile › Your data (export) and Admin › Privacy (policy, retention dry
run, a person's export and erasure). Rules in app/services/privacy/."""

from flask import Blueprint

bp = Blueprint("privacy", __name__)
