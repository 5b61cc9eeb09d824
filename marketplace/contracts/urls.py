from django.urls import path

from . import views

app_name = "contracts"

urlpatterns = [
    path("", views.index, name="index"),
    path("notices/", views.notices, name="notices"),
    path("review/", views.review_queue, name="review_queue"),
    path("audit/", views.audit, name="audit"),
    path("deals/new/", views.deal_open, name="deal_open"),
    path("deals/<int:pk>/", views.deal_detail, name="deal_detail"),
    path("new/", views.contract_create, name="create"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.contract_edit, name="edit"),
    path("<int:pk>/scan/", views.upload_scan, name="upload_scan"),
    path("<int:pk>/scan/v<int:number>.pdf", views.scan, name="scan"),
    path("<int:pk>/submit/", views.submit, name="submit"),
    path("<int:pk>/amend/", views.amend, name="amend"),
    path("<int:pk>/review/", views.review, name="review"),
    path("<int:pk>/certificate/", views.certificate, name="certificate"),
]
