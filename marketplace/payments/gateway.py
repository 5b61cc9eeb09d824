"""The one place that talks to Stripe: a StripeClient built from settings, and the calls we make.

Settings (environment variables, see docs/payments.md): STRIPE_SECRET_KEY, STRIPE_PUBLISHABLE_KEY,
STRIPE_WEBHOOK_SECRET switch payments on; STRIPE_API_BASE points the library at another server
(localstripe in development and tests); STRIPE_JS_URL is where pages load Stripe.js from.

Every POST carries an idempotency key chosen by the caller and stored with our row before the call,
so a retried request (ours, or the library's own network retries) can never create a second charge.
"""

from __future__ import annotations

import stripe
from django.conf import settings

OFFICIAL_JS_URL = "https://js.stripe.com/v3/"


class PaymentsNotConfigured(RuntimeError):
    """No Stripe keys in the environment: the site runs, payments say they are off."""


def is_configured() -> bool:
    return bool(settings.STRIPE_SECRET_KEY and settings.STRIPE_PUBLISHABLE_KEY and settings.STRIPE_WEBHOOK_SECRET)


def uses_js_stand_in() -> bool:
    """True when pages load a Stripe.js stand-in (localstripe's) instead of js.stripe.com."""
    return settings.STRIPE_JS_URL.rstrip("/") != OFFICIAL_JS_URL.rstrip("/")


def client() -> stripe.StripeClient:
    if not is_configured():
        raise PaymentsNotConfigured("STRIPE_SECRET_KEY, STRIPE_PUBLISHABLE_KEY and STRIPE_WEBHOOK_SECRET are not set")
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": settings.STRIPE_API_BASE},
        max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
    )


def construct_event(payload: bytes, signature: str | None) -> stripe.Event:
    """Verify the Stripe-Signature header with the endpoint secret and parse the event.

    Raises stripe.SignatureVerificationError (bad or missing signature, stale timestamp) or ValueError
    (a body that is not JSON).
    """
    if not settings.STRIPE_WEBHOOK_SECRET:
        raise PaymentsNotConfigured("STRIPE_WEBHOOK_SECRET is not set")
    return stripe.Webhook.construct_event(
        payload, signature, settings.STRIPE_WEBHOOK_SECRET, tolerance=settings.STRIPE_WEBHOOK_TOLERANCE
    )


def customer_create(*, name: str, metadata: dict, idempotency_key: str) -> stripe.Customer:
    return client().v1.customers.create(
        params={"name": name, "metadata": metadata}, options={"idempotency_key": idempotency_key}
    )


def payment_intent_create(
    *, amount_minor: int, currency: str, customer: str, methods: list[str], metadata: dict, idempotency_key: str
) -> stripe.PaymentIntent:
    params: dict = {
        "amount": amount_minor,
        "currency": currency,
        "customer": customer,
        "payment_method_types": methods,
        "metadata": metadata,
    }
    if "wechat_pay" in methods:
        # Stripe requires the client kind for WeChat Pay; the Payment Element shows a QR code on the web.
        params["payment_method_options"] = {"wechat_pay": {"client": "web"}}
    return client().v1.payment_intents.create(params=params, options={"idempotency_key": idempotency_key})


def payment_intent_retrieve(payment_intent_id: str) -> stripe.PaymentIntent:
    return client().v1.payment_intents.retrieve(payment_intent_id)


def payment_intent_confirm_with(*, payment_intent_id: str, payment_method: str, idempotency_key: str):
    """Set the payment method, then confirm without parameters (what localstripe implements)."""
    c = client()
    c.v1.payment_intents.update(
        payment_intent_id,
        params={"payment_method": payment_method},
        options={"idempotency_key": f"{idempotency_key}-pm"},
    )
    return c.v1.payment_intents.confirm(payment_intent_id, options={"idempotency_key": f"{idempotency_key}-confirm"})


def refund_create(*, payment_intent_id: str, amount_minor: int, metadata: dict, idempotency_key: str) -> stripe.Refund:
    return client().v1.refunds.create(
        params={"payment_intent": payment_intent_id, "amount": amount_minor, "metadata": metadata},
        options={"idempotency_key": idempotency_key},
    )
