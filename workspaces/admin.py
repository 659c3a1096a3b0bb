"""Admin pages for workspaces, their runs and their credentials deliveries (never a password)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from workspaces.models import CredentialDelivery, ProvisioningRun, ProvisioningStep, Workspace
from workspaces.provisioning import request_new_credentials


class ProvisioningStepInline(admin.TabularInline):
    model = ProvisioningStep
    extra = 0
    can_delete = False
    fields = ["position", "name", "state", "started_at", "finished_at", "message"]
    readonly_fields = fields


class ProvisioningRunInline(admin.TabularInline):
    model = ProvisioningRun
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ["kind", "state", "started_at", "finished_at", "error_code"]
    readonly_fields = fields


class CredentialDeliveryInline(admin.TabularInline):
    model = CredentialDelivery
    extra = 0
    can_delete = False
    fields = ["reason", "state", "email", "attempts", "sent_at", "last_error"]
    readonly_fields = fields


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["username", "uid", "desired_state", "observed_state", "namespace", "observed_at", "delete_after"]
    list_filter = ["desired_state", "observed_state"]
    search_fields = ["username", "namespace"]
    readonly_fields = [
        "username",
        "uid",
        "namespace",
        "url",
        "spec",
        "applied_spec",
        "desired_state",
        "observed_state",
        "state_reason",
        "observed_at",
        "delete_after",
        "lock_token",
        "locked_until",
        "created_at",
        "updated_at",
    ]
    inlines = [ProvisioningRunInline, CredentialDeliveryInline]
    actions = ["send_new_credentials"]

    def has_add_permission(self, request):
        # Workspaces come from approved files on main only.
        return False

    @admin.action(description=_("Send new credentials"))
    def send_new_credentials(self, request, queryset):
        active = queryset.filter(desired_state=Workspace.DesiredState.ACTIVE)
        with transaction.atomic():
            for workspace in active:
                request_new_credentials(workspace)
        count = active.count()
        self.message_user(
            request,
            ngettext(
                "New credentials will be sent for %(count)d workspace.",
                "New credentials will be sent for %(count)d workspaces.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )


@admin.register(ProvisioningRun)
class ProvisioningRunAdmin(admin.ModelAdmin):
    list_display = ["workspace", "kind", "state", "started_at", "finished_at", "error_code"]
    list_filter = ["kind", "state"]
    search_fields = ["workspace__username"]
    readonly_fields = ["workspace", "kind", "state", "started_at", "finished_at", "error_code", "error_message"]
    inlines = [ProvisioningStepInline]

    def has_add_permission(self, request):
        return False


@admin.register(CredentialDelivery)
class CredentialDeliveryAdmin(admin.ModelAdmin):
    list_display = ["workspace", "reason", "state", "email", "attempts", "sent_at"]
    list_filter = ["reason", "state"]
    search_fields = ["workspace__username", "email"]
    readonly_fields = ["workspace", "reason", "state", "email", "attempts", "sent_at", "last_error", "created_at"]

    def has_add_permission(self, request):
        return False
