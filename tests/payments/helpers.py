"""Webhook payloads for the payments tests: real objects in Stripe's event envelope, signed with the
stripe library's own helper (stripe.WebhookSignature.generate_signature_header)."""

import json
import time
import uuid

import stripe
from django.urls import reverse

WEBHOOK_SECRET = "whsec_marketplace_tests"


def event_payload(event_type: str, obj: dict, *, event_id: str | None = None, created: int | None = None) -> dict:
    """A Stripe event envelope around a real object (as Stripe or localstripe returned it)."""
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": created if created is not None else int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "type": event_type,
        "data": {"object": obj},
    }


def signed(payload: dict, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> tuple[str, str]:
    body = json.dumps(payload)
    header = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=timestamp)
    return body, header


def post_event(client, payload: dict, *, secret: str = WEBHOOK_SECRET, header: str | None = None, body=None):
    raw, good_header = signed(payload, secret)
    return client.post(
        reverse("stripe_webhook"),
        data=raw if body is None else body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=good_header if header is None else header,
    )


def intent_dict(intent) -> dict:
    """A PaymentIntent from the API as the plain dict an event carries."""
    return json.loads(json.dumps(intent.to_dict(for_json=True)))
