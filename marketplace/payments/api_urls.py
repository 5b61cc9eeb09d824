from django.urls import include, path
from rest_framework.routers import DefaultRouter

from .api import ContractPaymentsView, PaymentViewSet, StatusView, SummaryView

app_name = "payments_api"

router = DefaultRouter()
router.register("payments", PaymentViewSet, basename="payment")

urlpatterns = [
    path("status/", StatusView.as_view(), name="status"),
    path("summary/", SummaryView.as_view(), name="summary"),
    path("contracts/<int:contract_pk>/", ContractPaymentsView.as_view(), name="contract"),
    path("", include(router.urls)),
]
