from django.urls import path

from . import views

app_name = "payments"

urlpatterns = [
    path("", views.payment_list, name="list"),
    path("staff/", views.staff_desk, name="staff"),
    path("staff/events/<int:event_pk>/resolve/", views.event_resolve, name="event_resolve"),
    path("<int:pk>/", views.payment_detail, name="detail"),
    path("<int:pk>/start/", views.payment_start, name="start"),
    path("<int:pk>/checkout/<int:attempt_pk>/", views.payment_checkout, name="checkout"),
    path("<int:pk>/checkout/<int:attempt_pk>/confirm/", views.attempt_confirm, name="attempt_confirm"),
    path("<int:pk>/return/", views.payment_return, name="return"),
    path("<int:pk>/refund/", views.payment_refund, name="refund"),
    path("<int:pk>/cancel/", views.payment_cancel, name="cancel"),
    path("contracts/<int:contract_pk>/", views.contract_payments, name="contract"),
    path("contracts/<int:contract_pk>/instalments/<int:no>/pay/", views.instalment_pay, name="instalment_pay"),
]
