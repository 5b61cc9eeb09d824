from django.urls import path

from . import views

app_name = "matching"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("needs/<int:pk>/", views.need_matches, name="need_matches"),
    path("needs/<int:pk>/technologies/<int:technology_pk>/dismiss/", views.match_dismiss, name="match_dismiss"),
    path("needs/<int:pk>/technologies/<int:technology_pk>/restore/", views.match_restore, name="match_restore"),
    path("needs/<int:pk>/technologies/<int:technology_pk>/contact/", views.match_contact, name="match_contact"),
    path("technologies/<int:pk>/leads/", views.technology_leads, name="technology_leads"),
]
