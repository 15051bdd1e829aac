"""Issue #11 item 3: certificate templates cannot run away (size, work, time), by class.

Every way a template can amplify a small input -- padding, %-/str.format widths, joining,
replacing, repetition, ~, loops (nested, recursive), macros calling themselves, filters that
batch/slice/sort/print structures -- is refused quickly with a clear, line-numbered error, at save
time (validation, also against worst-case data) and at render time (templates saved behind our
back). Legitimate templates render as before.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from app.documents import RenderTimeoutError, TemplateRenderError, default_template, render_pdf
from app.documents.templating import render_template, sample_context, validate_template
from app.extensions import db
from app.models.template import CertificateTemplate
from app.services.documents import designer
from app.services.errors import ValidationError

pytestmark = pytest.mark.usefixtures("close_abandoned_engine_files")


#: Each rejection must come back this fast (the issue: "rejected quickly").
QUICK = 2.0

S5000 = "{% set x = 'x' * 5000 %}"
DOUBLING = "{% set a = ['x' * 1000] %}" + "{% set a = [a, a, a, a] %}" * 6

#: name -> a template body that, unbounded, builds gigabytes or runs for minutes.
BYPASSES: dict[str, str] = {
    # padding
    "center filter": "{{ 'x'|center(20000000) }}",
    "center method": "{{ 'x'.center(20000000) }}",
    "ljust": "{{ 'x'.ljust(20000000) }}",
    "rjust": "{{ 'x'.rjust(20000000) }}",
    "zfill": "{{ '1'.zfill(20000000) }}",
    "expandtabs": "{{ ('\t' * 100000).expandtabs(100000) }}",
    # formatting
    "format filter width": "{{ '%020000000d'|format(1) }}",
    "percent operator width": "{{ '%020000000d' % 1 }}",
    "percent star width": "{{ '%*d' % (20000000, 1) }}",
    "percent repeated mapping": "{{ ('%(a)s' * 10000) % {'a': 'x' * 100000} }}",
    "str.format width": "{{ '{:>20000000}'.format(1) }}",
    "str.format nested width": "{{ '{0:{1}}'.format(1, 10 ** 9) }}",
    "str.format repeated field": "{{ ('{0}' * 10000).format('x' * 100000) }}",
    "str.format_map width": "{{ '{a:>20000000}'.format_map({'a': 1}) }}",
    "strftime width": "{{ issued_on.strftime('%999999999Y') }}",
    "date filter width": "{{ issued_on|date('%999999999Y') }}",
    # joining, replacing, wrapping
    "join filter": "{{ ('x' * 1000)|join('y' * 100000) }}",
    "str.join": "{{ ('y' * 100000).join('x' * 1000) }}",
    "replace filter": "{{ ('x' * 100000)|replace('x', 'y' * 1000) }}",
    "replace method empty": "{{ ('x' * 100000).replace('', 'y' * 1000) }}",
    "translate": "{{ ('x' * 100000).translate({120: 'y' * 100000}) }}",
    "wordwrap": "{{ ('x ' * 50000)|wordwrap(1, wrapstring='y' * 100000) }}",
    "indent": "{{ ('x\\n' * 50000)|indent('y' * 100000) }}",
    "truncate end": "{{ 'x'|truncate(0, end='y' * 100000 * 100) }}",
    "urlize": "{{ ('a.co ' * 50000)|urlize(target='x' * 1000) }}",
    # repetition and concatenation
    "string repetition": "{{ 'x' * 5000 * 5000 }}",
    "list repetition": "{{ ([1] * 5000 * 5000)|length }}",
    "tilde chain": "{% set s = 'x' * 1000 %}{{ (s" + " ~ s" * 400 + ")|length }}",
    "set doubling": "{% set s = 'x' * 1000 %}" + "{% set s = s ~ s %}" * 20 + "{{ s|length }}",
    "plus doubling": "{% set s = 'x' * 1000 %}" + "{% set s = s + s %}" * 20 + "{{ s|length }}",
    "list plus doubling": "{% set s = [1] * 1000 %}" + "{% set s = s + s %}" * 20 + "{{ s|length }}",
    "range": "{{ range(10 ** 9)|list }}",
    # loops
    "nested loops twice": S5000 + "{% for a in x %}{% for b in x %}{% endfor %}{% endfor %}",
    "nested loops three deep": (S5000 + "{% for a in x %}{% for b in x %}{% for c in x %}."
                                "{% endfor %}{% endfor %}{% endfor %}"),
    "static text in a loop": "{% for i in 'x' * 9000 %}" + "<p>static text</p>" * 100 + "{% endfor %}",
    "recursive loop": ("{% for x in [1, 2] recursive %}{% if loop.depth < 40 %}{{ loop([1, 2]) }}{% endif %}"
                       "{% endfor %}"),
    "endless recursive loop": "{% for x in [1, 2] recursive %}{{ loop([1, 2]) }}{% endfor %}",
    # macros and captured output
    "exponential macro": ("{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
                          "{{ f(40) }}"),
    "endless macro": "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    "set block": "{% set b %}{% for i in 'x' * 9000 %}{{ 'y' * 1000 }}{% endfor %}{% endset %}{{ b|length }}",
    "filter block": "{% filter upper %}{% for i in 'x' * 9000 %}{{ 'y' * 1000 }}{% endfor %}{% endfilter %}",
    "caller": ("{% macro m() %}{% for i in 'x' * 9000 %}{{ caller() }}{% endfor %}{% endmacro %}"
               "{% call m() %}{{ 'y' * 1000 }}{% endcall %}"),
    # structure-amplifying filters
    "batch fill": "{{ [1]|batch(10 ** 9, 'x')|list }}",
    "slice": "{{ [1]|slice(10 ** 8)|list|length }}",
    "sort big list": "{{ (courses * 20000)|sort(attribute='title')|length }}",
    "unique big list": "{% for i in 'x' * 5000 %}{{ (('x' * 9000)|list)|unique|list|length }}{% endfor %}",
    "map over big list": "{{ (courses * 9000)|map(attribute='code')|map('center', 100000)|list|length }}",
    "sum of lists": "{{ [[1] * 10000] * 10000|sum(start=[]) }}",
    "pprint shared": DOUBLING + "{{ a|pprint }}",
    "tojson shared": DOUBLING + "{{ a|tojson }}",
    "tojson deep": "{% set a = [] %}" + "{% set a = [a] %}" * 200 + "{{ a|tojson }}",
    "printing shared list": "{% set a = ['x' * 100000] * 100 %}{{ a }}",
    "string of shared list": "{% set a = ['x' * 100000] * 100 %}{{ a|string|length }}",
    "tilde with list": "{% set a = ['x' * 100000] * 100 %}{{ 'x' ~ a }}",
    # numbers
    "power chain": "{{ ((10 ** 100) ** 100) ** 100 }}",
    "squaring": "{% set a = 10 ** 100 %}" + "{% set a = a * a %}" * 8 + "{{ a }}",
}


def _page(body: str) -> str:
    return f"<html><body>\n<p>{body}</p>\n</body></html>"


@pytest.mark.parametrize("name", list(BYPASSES))
def test_bypass_is_refused_at_save_time_quickly_with_its_line(name: str) -> None:
    started = time.monotonic()
    errors = validate_template(_page(BYPASSES[name]), "")
    elapsed = time.monotonic() - started
    assert errors, name
    assert elapsed < QUICK, f"{name}: {elapsed:.2f} s"
    assert errors[0].line == 2
    assert any(word in errors[0].message for word in ("not allowed", "unknown placeholder")), errors


@pytest.mark.parametrize("name", list(BYPASSES))
def test_bypass_saved_behind_our_back_fails_the_render_quickly(name: str) -> None:
    started = time.monotonic()
    with pytest.raises(TemplateRenderError) as caught:
        render_template(_page(BYPASSES[name]), sample_context(), seconds=30)
    assert time.monotonic() - started < QUICK, name
    assert caught.value.errors[0].line == 2
    assert caught.value.retryable is False


def test_limit_messages_say_what_and_how_much() -> None:
    [error] = validate_template(_page("{{ 'x'|center(20000000) }}"), "")
    assert error.message.startswith("not allowed in a certificate template: the 'center' filter would "
                                    "build 20,000,000 characters; the limit is ")
    [error] = validate_template(_page(BYPASSES["nested loops twice"]), "")
    assert "loops more than 10,000 times in all" in error.message


def test_budget_is_per_render_not_per_process() -> None:
    """Counters start again with every render: many renders of a loop-heavy template all pass."""
    html = "<p>{% for a in 'x' * 90 %}{% for b in 'x' * 90 %}.{% endfor %}{% endfor %}</p>"  # 8,100 each
    for _ in range(5):
        assert render_template(html, sample_context()).count(".") == 8100


# --------------------------------------------------------------------------------------------
# What a certificate needs still works
# --------------------------------------------------------------------------------------------

LEGITIMATE = """<html><head><title>{{ certification_name }}</title></head><body class="{{ orientation }}">
<h1>{{ holder_name|upper|center(60) }}</h1>
<p>{{ "%s scored %.1f%%"|format(holder_name, score or 0) }} · {{ "{:>12}".format(serial) }}</p>
<ul>{% for c in courses|sort(attribute='code') %}
<li>{{ loop.index }}/{{ loop.length }} {{ c.code ~ ": " ~ c.title|truncate(40) }}</li>{% endfor %}</ul>
<p>{{ courses|map(attribute='code')|join(", ") }} · {{ issued_on|date("%d %B %Y") }}
 · {{ (score or 0) * 2 }}</p>
{% macro sig(name) %}<span>{{ name|wordwrap(20) }}</span>{% endmacro %}{{ sig(signatory_name) }}
{% if logo_url %}<img src="{{ logo_url }}">{% endif %}<img src="{{ qr_data_uri }}">
</body></html>"""


def test_a_realistic_template_validates_and_renders_as_before() -> None:
    assert validate_template(LEGITIMATE, "") == []
    out = render_template(LEGITIMATE, sample_context())
    assert "FA-101, FA-205, HS-110" in out and "1/3" in out and "14 March 2026" in out
    assert "scored 92.5%" in out and "185.0" in out
    html, css = default_template()
    assert validate_template(html, css) == []


def test_large_uploaded_images_fit_the_output_budget() -> None:
    """Images are big data URIs: each widens the limit, so printing them (even twice) is fine."""
    from app.documents.samples import WORST_CASE_IMAGE

    ctx = {**sample_context(), "logo_url": WORST_CASE_IMAGE, "background_url": WORST_CASE_IMAGE}
    html = ('<img src="{{ logo_url }}"><img src="{{ logo_url }}"><div style="x: url({{ background_url }})">'
            '<div style="{{ "background: url(" ~ logo_url ~ ")" }}">{{ logo_url|length }}')
    assert len(render_template(html, ctx)) > 3 * len(WORST_CASE_IMAGE)


# --------------------------------------------------------------------------------------------
# Validation with worst-case data: templates that only blow up on real data
# --------------------------------------------------------------------------------------------

ONLY_ON_REAL_DATA = {
    # fine with the 18-character sample name, 40,000 iterations with 200-character names
    "long names": ("{% for a in holder_name %}{% for b in certification_name %}.{% endfor %}{% endfor %}",
                   "longest names"),
    # 27 iterations with 3 courses, 1,000,000 with 100
    "many courses": ("{% for a in courses %}{% for b in courses %}{% for c in courses %}.{% endfor %}"
                     "{% endfor %}{% endfor %}", "courses"),
    # nothing without images, 2.8 million iterations with an uploaded logo
    "large images": ("{% if logo_url %}{% for c in logo_url %}.{% endfor %}{% endif %}", "largest images"),
    # padding that scales with a name
    "padding by a name": ("{{ 'x'|center(holder_name|length * 2000) }}", "longest names"),
}


@pytest.mark.parametrize("name", list(ONLY_ON_REAL_DATA))
def test_validation_uses_worst_case_data(name: str) -> None:
    body, note = ONLY_ON_REAL_DATA[name]
    render_template(_page(body), sample_context())  # the usual sample data is fine
    started = time.monotonic()
    [error] = validate_template(_page(body), "")
    assert time.monotonic() - started < QUICK
    assert error.line == 2 and note in error.message and "not allowed" in error.message


def test_create_and_update_refuse_a_runaway_template_and_save_nothing(admin) -> None:
    html, css = default_template()
    values = {"name": "Runaway", "html": html.replace("</body>", _page(BYPASSES["nested loops three deep"])
                                                       + "</body>"), "css": css}
    with pytest.raises(ValidationError) as caught:
        designer.create_template(values, actor=admin)
    db.session.rollback()
    assert "loops more than" in caught.value.errors["html"]
    assert db.session.scalar(select(func.count()).select_from(CertificateTemplate)) == 0

    template = designer.create_template({"name": "Good", "html": html, "css": css}, actor=admin)
    db.session.commit()
    with pytest.raises(ValidationError):
        designer.update_template(template, {**values, "name": "Good"}, actor=admin)
    db.session.rollback()
    assert db.session.get(CertificateTemplate, template.id).html == html


def test_web_form_and_designer_preview_show_the_limit_error(admin, login_as) -> None:
    client = login_as(admin)
    body = _page(BYPASSES["exponential macro"])
    started = time.monotonic()
    response = client.post("/admin/templates/new", data={
        "csrf_token": client.csrf_token, "name": "Runaway", "html": body, "css": "", "page_size": "A4",
        "orientation": "landscape"})
    assert response.status_code == 422 and "more than 10,000 calls" in response.get_data(as_text=True)
    preview = client.post("/admin/templates/preview", data={"html": body, "css": ""},
                          headers={"HX-Request": "true", "X-CSRFToken": client.csrf_token})
    assert time.monotonic() - started < 2 * QUICK
    page = preview.get_data(as_text=True)
    assert preview.status_code == 422 and "cannot be rendered" in page and "more than 10,000 calls" in page


def test_designer_preview_of_a_slow_document_stops_at_the_time_limit(app, admin, login_as,
                                                                      monkeypatch) -> None:
    """Fine for the sandbox, too slow for the PDF engine: the preview answers 422 with the time limit
    instead of hanging the request."""
    monkeypatch.setitem(app.config, "RENDER_TIME_LIMIT", 1)
    client = login_as(admin)
    body = "{% for c in 'x' * 5000 %}<p>abcdefghijklmnopqrstuvwxyz abcdefghijkl</p>{% endfor %}"
    started = time.monotonic()
    preview = client.post("/admin/templates/preview", data={"html": f"<html><body>{body}</body></html>",
                                                            "css": ""},
                          headers={"HX-Request": "true", "X-CSRFToken": client.csrf_token})
    assert time.monotonic() - started < 1 + QUICK + 5  # validation (< 5 s) + the 1 s render limit
    page = preview.get_data(as_text=True)
    assert preview.status_code == 422 and "longer than its 1 second limit" in page


def test_render_pdf_time_limit_covers_template_and_engine() -> None:
    """Within every size and work limit, yet too slow: the engine (1 s limit) and the template
    itself (a 0.05 s limit, checked at every iteration) both stop at the deadline."""
    slow_engine = ("<html><body>{% for c in 'x' * 5000 %}<p>abcdefghijklmnopqrstuvwxyz</p>{% endfor %}"
                   "</body></html>")
    slow_template = "{% for i in 'x' * 9000 %}{{ holder_name|wordwrap(5)|title }}{% endfor %}"
    for html, limit in ((slow_engine, 1), (slow_template, 0.05)):
        started = time.monotonic()
        with pytest.raises(RenderTimeoutError, match=f"longer than its {limit:g} second limit") as caught:
            render_pdf(html, "", sample_context(), time_limit=limit)
        assert time.monotonic() - started < limit + QUICK
        assert caught.value.retryable is False
