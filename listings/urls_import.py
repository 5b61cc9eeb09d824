from django.urls import path

from . import views_import

app_name = "imports"

urlpatterns = [
    path("", views_import.import_start, name="start"),
    path("jobs/<int:pk>/", views_import.job_detail, name="job"),
    path("jobs/<int:pk>/status/", views_import.job_status, name="job_status"),
    path("template/<str:kind>.csv", views_import.template_download, name="template"),
]
