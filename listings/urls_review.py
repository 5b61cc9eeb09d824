from django.urls import path

from . import views_review

app_name = "review"

urlpatterns = [
    path("", views_review.queue, name="queue"),
    path(
        "technologies/<int:pk>/decide/",
        views_review.listing_decide,
        {"kind": "technology"},
        name="technology_decide",
    ),
    path("needs/<int:pk>/decide/", views_review.listing_decide, {"kind": "need"}, name="need_decide"),
    path("organisations/<int:pk>/decide/", views_review.organisation_decide, name="organisation_decide"),
]
