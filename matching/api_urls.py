from django.urls import path

from . import api

app_name = "matching_api"

urlpatterns = [
    path("needs/<int:pk>/matches/", api.NeedMatchesView.as_view(), name="need_matches"),
    path("needs/<int:pk>/matches/<int:technology_pk>/dismiss/", api.MatchDismissView.as_view(), name="dismiss"),
    path("needs/<int:pk>/matches/<int:technology_pk>/restore/", api.MatchRestoreView.as_view(), name="restore"),
    path("needs/<int:pk>/matches/<int:technology_pk>/contact/", api.MatchContactView.as_view(), name="contact"),
    path("technologies/<int:pk>/leads/", api.TechnologyLeadsView.as_view(), name="technology_leads"),
]
