"""Ask localstripe to deliver its events to this site (development): localstripe has no webhook
endpoints API, only its own /_config/webhooks/ call. Real Stripe: add the endpoint in the dashboard."""

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Register this site's webhook URL with localstripe (STRIPE_API_BASE), signed with STRIPE_WEBHOOK_SECRET."

    def add_arguments(self, parser):
        parser.add_argument("url", help="where localstripe posts events, e.g. http://127.0.0.1:8000/webhooks/stripe/")
        parser.add_argument("--name", default="marketplace", help="localstripe's id for this registration")

    def handle(self, *args, url: str, name: str, **options):
        if not settings.STRIPE_WEBHOOK_SECRET:
            raise CommandError('STRIPE_WEBHOOK_SECRET is not set (eval "$(bash scripts/services.sh env)")')
        if not url.startswith(("http://", "https://")):
            raise CommandError(f"not an http(s) URL: {url}")
        base = settings.STRIPE_API_BASE.rstrip("/")
        if base == "https://api.stripe.com":
            raise CommandError("STRIPE_API_BASE is Stripe itself; add the endpoint in Stripe's dashboard instead")
        try:
            response = requests.post(
                f"{base}/_config/webhooks/{name}",
                data={"url": url, "secret": settings.STRIPE_WEBHOOK_SECRET},
                timeout=5,
            )
        except requests.RequestException as exc:
            raise CommandError(f"localstripe is not reachable at {base}: {exc}") from exc
        if response.status_code != 200:
            raise CommandError(f"localstripe refused the registration ({response.status_code}): {response.text[:200]}")
        self.stdout.write(f"localstripe at {base} now posts its events to {url}")
