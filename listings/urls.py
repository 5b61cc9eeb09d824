from django.urls import path

from . import views

app_name = "listings"

urlpatterns = [
    path("technologies/", views.technology_list, name="technology_list"),
    path("technologies/new/", views.technology_create, name="technology_create"),
    path("technologies/<int:pk>/", views.technology_detail, name="technology_detail"),
    path("technologies/<int:pk>/edit/", views.technology_edit, name="technology_edit"),
    path("technologies/<int:pk>/submit/", views.technology_submit, name="technology_submit"),
    path("technologies/<int:pk>/withdraw/", views.technology_withdraw, name="technology_withdraw"),
    path("technologies/<int:pk>/images/new/", views.technology_image_add, name="technology_image_add"),
    path(
        "technologies/<int:pk>/images/<int:image_pk>/delete/",
        views.technology_image_delete,
        name="technology_image_delete",
    ),
    path("technologies/<int:pk>/attachments/new/", views.technology_attachment_add, name="technology_attachment_add"),
    path("needs/", views.need_list, name="need_list"),
    path("needs/new/", views.need_create, name="need_create"),
    path("needs/<int:pk>/", views.need_detail, name="need_detail"),
    path("needs/<int:pk>/edit/", views.need_edit, name="need_edit"),
    path("needs/<int:pk>/submit/", views.need_submit, name="need_submit"),
    path("needs/<int:pk>/withdraw/", views.need_withdraw, name="need_withdraw"),
    path("needs/<int:pk>/attachments/new/", views.need_attachment_add, name="need_attachment_add"),
]
