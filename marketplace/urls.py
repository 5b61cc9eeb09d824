from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("marketplace.accounts.urls")),
    path("", include("listings.urls")),
    path("review/", include("listings.urls_review")),
    path("import/", include("listings.urls_import")),
    path("search/", include("search.urls")),
    path("messages/", include("marketplace.messaging.urls")),
    path("contracts/", include("marketplace.contracts.urls")),
    path("stats/", include("marketplace.stats.urls")),
    path("matching/", include("matching.urls")),
    path("payments/", include("marketplace.payments.urls")),
    path("webhooks/stripe/", include("marketplace.payments.webhook_urls")),
    path("api/search/", include("search.api_urls")),
    path("api/messaging/", include("marketplace.messaging.api_urls")),
    path("api/contracts/", include("marketplace.contracts.api_urls")),
    path("api/stats/", include("marketplace.stats.api_urls")),
    path("api/matching/", include("matching.api_urls")),
    path("api/payments/", include("marketplace.payments.api_urls")),
    path("api/", include("marketplace.api_urls")),
    path("admin/", admin.site.urls),
]
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
