from django.urls import path

from . import api

app_name = "stats_api"

urlpatterns = [
    path("turnover/", api.TurnoverView.as_view(), name="turnover"),
    path("figures/", api.YearFiguresView.as_view(), name="figures"),
]
