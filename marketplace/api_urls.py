"""The JSON API under /api/: organisations, technologies, needs, and the OpenAPI schema with its docs.

Swagger UI and ReDoc are served from drf-spectacular-sidecar's static files: no CDN, no web fonts, no
validator badge, so the docs work where the server has no outside network.
"""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from listings.api import NeedViewSet, TechnologyViewSet
from marketplace.accounts.api import OrganisationViewSet

app_name = "api"

router = DefaultRouter()
router.register("organisations", OrganisationViewSet, basename="organisation")
router.register("technologies", TechnologyViewSet, basename="technology")
router.register("needs", NeedViewSet, basename="need")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema", template_name="api/redoc.html"), name="redoc"),
    path("", include(router.urls)),
]
