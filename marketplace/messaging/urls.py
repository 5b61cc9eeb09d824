from django.urls import path

from . import views

app_name = "messaging"

urlpatterns = [
    path("", views.conversation_list, name="list"),
    path("start/", views.start, name="start"),
    path("<int:pk>/", views.conversation, name="conversation"),
    path("<int:pk>/attach/", views.attach, name="attach"),
    path("<int:pk>/invite/", views.invite, name="invite"),
    path("attachments/<int:pk>/", views.attachment, name="attachment"),
    path("attachments/<int:pk>/thumb/", views.attachment_thumb, name="attachment_thumb"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/<int:pk>/open/", views.notification_open, name="notification_open"),
]
