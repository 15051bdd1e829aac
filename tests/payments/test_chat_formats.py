"""Microsoft Teams (Adaptive Card in the message envelope) and Discord (embeds) deliveries, posted to the
real HTTP receiver and checked against the documented shapes (written out here as JSON Schemas)."""

from __future__ import annotations

import jsonschema
import pytest

from app.extensions import db
from app.services.integrations import registry
from app.services.payments import ledger
from tests.payments.conftest import complete
from tests.support.receiver import Receiver

# Teams incoming webhooks / Workflows: https://learn.microsoft.com/microsoftteams/platform/webhooks-and-
# connectors/how-to/connectors-using#send-adaptive-cards-using-an-incoming-webhook and the Adaptive Card
# schema (AdaptiveCard: type, version, body of elements; TextBlock.text; FactSet.facts[title, value];
# Action.OpenUrl: title, url).
TEAMS_SCHEMA = {
    "type": "object", "required": ["type", "attachments"], "properties": {
        "type": {"const": "message"},
        "attachments": {"type": "array", "minItems": 1, "maxItems": 1, "items": {
            "type": "object", "required": ["contentType", "content"], "properties": {
                "contentType": {"const": "application/vnd.microsoft.card.adaptive"},
                "contentUrl": {"type": "null"},
                "content": {"type": "object", "required": ["type", "version", "body"], "properties": {
                    "$schema": {"const": "http://adaptivecards.io/schemas/adaptive-card.json"},
                    "type": {"const": "AdaptiveCard"},
                    "version": {"type": "string", "pattern": r"^1\.[0-6]$"},
                    "body": {"type": "array", "minItems": 1, "items": {"oneOf": [
                        {"type": "object", "required": ["type", "text"], "properties": {
                            "type": {"const": "TextBlock"}, "text": {"type": "string", "minLength": 1},
                            "weight": {"enum": ["Default", "Lighter", "Bolder"]},
                            "size": {"enum": ["Default", "Small", "Medium", "Large", "ExtraLarge"]},
                            "wrap": {"type": "boolean"}}, "additionalProperties": False},
                        {"type": "object", "required": ["type", "facts"], "properties": {
                            "type": {"const": "FactSet"}, "facts": {"type": "array", "items": {
                                "type": "object", "required": ["title", "value"],
                                "additionalProperties": False,
                                "properties": {"title": {"type": "string"}, "value": {"type": "string"}}}}},
                         "additionalProperties": False},
                    ]}},
                    "actions": {"type": "array", "items": {
                        "type": "object", "required": ["type", "url"], "additionalProperties": False,
                        "properties": {"type": {"const": "Action.OpenUrl"}, "title": {"type": "string"},
                                       "url": {"type": "string", "format": "uri"}}}},
                }, "additionalProperties": False}}}},
    }, "additionalProperties": False}

# Discord "Execute Webhook" (https://discord.com/developers/docs/resources/webhook#execute-webhook) with
# the Embed object's limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits).
DISCORD_SCHEMA = {
    "type": "object", "required": ["embeds"], "additionalProperties": False, "properties": {
        "username": {"type": "string", "maxLength": 80},
        "allowed_mentions": {"type": "object", "properties": {"parse": {"type": "array", "maxItems": 0}}},
        "embeds": {"type": "array", "minItems": 1, "maxItems": 10, "items": {
            "type": "object", "additionalProperties": False, "properties": {
                "title": {"type": "string", "maxLength": 256},
                "description": {"type": "string", "maxLength": 4096},
                "url": {"type": "string", "format": "uri"},
                "timestamp": {"type": "string", "format": "date-time"},
                "color": {"type": "integer", "minimum": 0, "maximum": 0xFFFFFF},
                "footer": {"type": "object", "required": ["text"], "properties": {
                    "text": {"type": "string", "maxLength": 2048}}},
                "fields": {"type": "array", "maxItems": 25, "items": {
                    "type": "object", "required": ["name", "value"], "additionalProperties": False,
                    "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 256},
                                   "value": {"type": "string", "minLength": 1, "maxLength": 1024},
                                   "inline": {"type": "boolean"}}}}}}},
    }}


@pytest.fixture
def receiver():
    with Receiver() as rx:
        yield rx


def _hook(kind: str, url: str, events: list[str]) -> None:
    integration, _ = registry.create(kind, {"name": kind, "webhook_url": url, "event_types": events},
                                     actor="test")
    registry.set_active(integration, True, actor="test")
    db.session.commit()


@pytest.mark.parametrize(("kind", "schema"), [("teams", TEAMS_SCHEMA), ("discord", DISCORD_SCHEMA)])
def test_certificate_and_payment_messages_match_the_documented_shapes(
        kind, schema, receiver, allow_private, paid_cert, learner, admin, jobs):
    cert, course = paid_cert
    _hook(kind, receiver.url_for(f"/{kind}/hook"), ["certificate.issued", "payment.completed"])
    complete(learner, course)
    ledger.mark_paid(learner, cert, "INV-9 <@everyone>", actor=admin)
    db.session.commit()
    jobs()
    bodies = [r.json() for r in receiver.wait_for(2)]
    checker = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    for body in bodies:
        checker.validate(body)
    text = repr(bodies)
    assert "Payment received" in text and "Certificate issued" in text and "Lena Learner" in text
    if kind == "teams":
        issued = next(b for b in bodies if "Certificate issued" in repr(b))
        card = issued["attachments"][0]["content"]
        assert card["actions"][0]["url"].startswith("http://localhost/verify/")
    else:
        assert all(b["allowed_mentions"] == {"parse": []} for b in bodies)


def test_chat_integrations_need_a_webhook_url():
    from app.services.errors import ValidationError

    for kind in ("teams", "discord"):
        with pytest.raises(ValidationError) as refused:
            registry.create(kind, {"name": kind, "event_types": ["ping"]}, actor="test")
        assert "webhook_url" in refused.value.errors
