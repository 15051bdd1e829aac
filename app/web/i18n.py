"""Languages: Flask-Babel, which locale a request speaks, and the pseudo-locale the tests render pages in.

Strings are marked where they are written: `{{ _("Save") }}` / `{% trans %}…{% endtrans %}` in templates,
`gettext`/`lazy_gettext` from flask_babel in Python. Catalogues live in translations/<locale>/LC_MESSAGES
(`make translations` extracts, updates and compiles them; docs/i18n.md).

The pseudo-locale (config `I18N_PSEUDO`, tests only) translates every marked string to itself wrapped in
⟦…⟧. A page rendered in it shows, at a glance and to a test, any visible word that was never marked:
tests/i18n/test_pseudo_locale.py.
"""

from __future__ import annotations

from babel import support
from flask import Flask, current_app, request
from flask_babel import Babel, Domain, get_locale

#: The locale code the pseudo-locale answers to (a real CLDR locale, so dates and numbers still format).
PSEUDO_LOCALE = "en_001"
PSEUDO_OPEN, PSEUDO_CLOSE = "⟦", "⟧"

babel = Babel()


class PseudoTranslations(support.NullTranslations):
    """Every message wrapped in ⟦…⟧; placeholders stay inside, so formatting still works."""

    @staticmethod
    def _wrap(message: str) -> str:
        return f"{PSEUDO_OPEN}{message}{PSEUDO_CLOSE}"

    def gettext(self, message: str) -> str:
        return self._wrap(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._wrap(singular if n == 1 else plural)

    def pgettext(self, context: str, message: str) -> str:
        return self._wrap(message)

    def npgettext(self, context: str, singular: str, plural: str, n: int) -> str:
        return self._wrap(singular if n == 1 else plural)

    ugettext, ungettext, upgettext, unpgettext = gettext, ngettext, pgettext, npgettext


class LaurelDomain(Domain):
    """The app's message domain, which also knows the pseudo-locale when the config turns it on."""

    _pseudo = PseudoTranslations()

    def get_translations(self):
        if current_app and current_app.config.get("I18N_PSEUDO") and str(get_locale()) == PSEUDO_LOCALE:
            return self._pseudo
        return super().get_translations()


def supported_locales() -> list[str]:
    """The locales a request may ask for: the shipped catalogues (config LANGUAGES), and the pseudo one."""
    locales = list(current_app.config["LANGUAGES"])
    if current_app.config.get("I18N_PSEUDO"):
        locales.append(PSEUDO_LOCALE)
    return locales


def select_locale() -> str:
    """The browser's Accept-Language among the shipped languages, else the default."""
    if request:
        chosen = request.accept_languages.best_match(supported_locales(), default=None)
        if chosen:
            return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def init_app(app: Flask) -> None:
    app.config.setdefault("LANGUAGES", ["en"])
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "en")
    app.config.setdefault("I18N_PSEUDO", False)
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(app.config["TRANSLATIONS_DIR"]))
    babel.domain_instance = LaurelDomain(domain=app.extensions["babel"].default_domain)
    # `{% trans %}` blocks may wrap over lines: their msgids are the text with whitespace collapsed
    # (babel.cfg extracts them the same way).
    app.jinja_env.policies["ext.i18n.trimmed"] = True
