from __future__ import annotations

from django.contrib import admin

from gallery.models import Generation, Image


class ImageInline(admin.TabularInline):
    model = Image
    extra = 0
    fields = ["index", "format", "width", "height", "bytes", "sha256", "is_favorite", "deleted_at"]
    readonly_fields = fields


@admin.register(Generation)
class GenerationAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "model", "status", "n", "created_at", "attempts"]
    list_filter = ["status", "model"]
    search_fields = ["prompt", "owner__username"]
    raw_id_fields = ["owner", "parent"]
    inlines = [ImageInline]
