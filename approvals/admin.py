from django.contrib import admin

from approvals.models import ApprovedFile, AuditEvent, Request, RequestHead, SyncRun


class RequestHeadInline(admin.TabularInline):
    model = RequestHead
    extra = 0
    readonly_fields = ["sha", "first_seen_at", "forced"]
    can_delete = False


@admin.register(Request)
class RequestAdmin(admin.ModelAdmin):
    list_display = ["number", "title", "author", "change_kind", "username", "state", "has_errors", "opened_at"]
    list_filter = ["state", "change_kind", "has_errors", "forge"]
    search_fields = ["title", "author", "username", "head_sha"]
    readonly_fields = [field.name for field in Request._meta.fields]
    inlines = [RequestHeadInline]


@admin.register(ApprovedFile)
class ApprovedFileAdmin(admin.ModelAdmin):
    list_display = ["path", "username", "valid", "commit_sha", "updated_at", "removed_at"]
    list_filter = ["valid"]
    search_fields = ["path", "username"]
    readonly_fields = [field.name for field in ApprovedFile._meta.fields]


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = ["started_at", "finished_at", "status", "trigger", "refs_changed", "error_code"]
    list_filter = ["status", "trigger"]
    readonly_fields = [field.name for field in SyncRun._meta.fields]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["at", "action", "actor", "username", "request", "commit"]
    list_filter = ["action"]
    search_fields = ["username", "commit"]
    readonly_fields = [field.name for field in AuditEvent._meta.fields]

    def has_delete_permission(self, request, obj=None):
        return False
