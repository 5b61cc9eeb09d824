from django.urls import include, path
from rest_framework.routers import DefaultRouter

from .api import ConversationViewSet, NotificationViewSet, UnreadView

app_name = "messaging_api"

router = DefaultRouter()
router.register("conversations", ConversationViewSet, basename="conversation")
router.register("notifications", NotificationViewSet, basename="notification")

urlpatterns = [
    path("unread/", UnreadView.as_view(), name="unread"),
    path("", include(router.urls)),
]
