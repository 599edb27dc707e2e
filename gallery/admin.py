from __future__ import annotations

from django.contrib import admin

from gallery.models import Generation, Image, Membership, Workspace


class ImageInline(admin.TabularInline):
    model = Image
    extra = 0
    fields = ["index", "format", "width", "height", "bytes", "sha256", "is_favorite", "deleted_at"]
    readonly_fields = fields


@admin.register(Generation)
class GenerationAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "workspace",
        "created_by",
        "model",
        "status",
        "n",
        "created_at",
        "attempts",
    ]
    list_filter = ["status", "model"]
    search_fields = ["prompt", "created_by__username"]
    raw_id_fields = ["workspace", "created_by", "parent"]
    inlines = [ImageInline]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "slug", "is_personal", "created_at"]
    search_fields = ["name", "slug"]
    inlines = [MembershipInline]
