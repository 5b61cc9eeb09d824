from rest_framework.routers import DefaultRouter

from . import api

app_name = "contracts_api"

router = DefaultRouter()
router.register("contracts", api.ContractViewSet, basename="contract")
router.register("deals", api.DealViewSet, basename="deal")
router.register("notices", api.NoticeViewSet, basename="notice")
router.register("audit", api.AuditViewSet, basename="audit")

urlpatterns = router.urls
