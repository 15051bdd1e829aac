"""The pseudo-locale itself: marked strings come out wrapped (templates and Python), placeholders kept."""

from __future__ import annotations

from flask import render_template_string
from flask_babel import gettext, refresh

from app.web.i18n import PSEUDO_LOCALE


def test_marked_strings_are_wrapped_only_in_the_pseudo_locale(app):
    app.config["I18N_PSEUDO"] = True
    try:
        template = "{{ _('Hello %(name)s', name='Ada') }} {% trans %}Two\n   lines{% endtrans %}"
        with app.test_request_context(headers={"Accept-Language": PSEUDO_LOCALE.replace("_", "-")}):
            assert render_template_string(template) == "⟦Hello Ada⟧ ⟦Two lines⟧"
            assert gettext("%(n)d left", n=3) == "⟦3 left⟧"
        with app.test_request_context(headers={"Accept-Language": "en"}):
            refresh()  # the test's app context outlives the request: forget the locale chosen above
            assert render_template_string(template) == "Hello Ada Two lines"
    finally:
        app.config["I18N_PSEUDO"] = False
