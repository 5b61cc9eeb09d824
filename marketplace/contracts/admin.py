"""Admin: contracts and the audit trail are read-only here; changes go through the services."""

from django.contrib import admin

from .models import AuditEntry, Contract, ContractVersion, Deal


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor_name", "action", "subject"]
    list_filter = ["action"]
    search_fields = ["subject", "actor_name"]


@admin.register(Contract)
class ContractAdmin(ReadOnlyAdmin):
    list_display = ["id", "registration_number", "seller_organisation", "created_at"]
    search_fields = ["registration_number"]


@admin.register(ContractVersion)
class ContractVersionAdmin(ReadOnlyAdmin):
    list_display = ["project_name", "number", "status", "contract_amount", "signed_on"]
    list_filter = ["status", "contract_type"]


@admin.register(Deal)
class DealAdmin(ReadOnlyAdmin):
    list_display = ["title", "seller", "buyer", "status", "created_at"]
