from django.urls import path

from . import api

app_name = "search_api"
urlpatterns = [
    path("", api.SearchView.as_view(), name="search"),
    path("autocomplete/", api.AutocompleteView.as_view(), name="autocomplete"),
]
