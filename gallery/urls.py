from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from gallery.ops import views as ops_views
from gallery.views import (
    accounts,
    boards,
    comments,
    gallery,
    generations,
    images,
    library,
    media,
    preferences,
    review,
    sharing,
    workspaces,
)

# Pages of one workspace live under it (/w/<slug>/...); pages of one row (/images/N/,
# /generations/N/) find their workspace from the row, so a link copied by one member opens for
# every other. "/" opens the workspace the user last worked in.
workspace_patterns = [
    path("", gallery.index, name="index"),
    path("generate/", generations.generate, name="generate"),
    path("images/download.zip", images.images_zip, name="images_zip"),
    path("prompts/", library.prompts, name="prompts"),
    path("usage/", library.usage, name="usage"),
    path("budget/", library.budget_settings, name="budget"),
    path("trash/", library.trash_page, name="trash"),
    path("trash/empty/", library.trash_empty, name="trash_empty"),
    path("boards/", boards.board_list, name="boards"),
    path("boards/add/", boards.board_add_images, name="board_add_images"),
    path("members/", workspaces.members, name="members"),
    path("members/add/", workspaces.member_add, name="member_add"),
    path("members/<int:member_id>/role/", workspaces.member_role, name="member_role"),
    path("members/<int:member_id>/remove/", workspaces.member_remove, name="member_remove"),
    path("leave/", workspaces.workspace_leave, name="workspace_leave"),
    path("invitations/", workspaces.invitation_create, name="invitation_create"),
    path(
        "invitations/<int:invitation_id>/revoke/",
        workspaces.invitation_revoke,
        name="invitation_revoke",
    ),
    path("compare/", review.compare, name="compare"),
    path("shares/", sharing.share_list, name="shares"),
    path("shares/<int:link_id>/revoke/", sharing.share_revoke, name="share_revoke"),
    path("rename/", workspaces.workspace_rename, name="workspace_rename"),
    path("transfer/", workspaces.workspace_transfer, name="workspace_transfer"),
    path("delete/", workspaces.workspace_delete, name="workspace_delete"),
]

gallery_patterns = [
    path("", workspaces.home, name="home"),
    path("w/<slug:slug>/", include(workspace_patterns)),
    path("workspaces/new/", workspaces.workspace_create, name="workspace_create"),
    path("settings/", preferences.preferences, name="preferences"),
    path("settings/time-zone/", preferences.time_zone_detect, name="time_zone_detect"),
    path("invite/<int:pk>/<str:token>/", workspaces.invitation, name="invitation"),
    path("generations/<int:pk>/", generations.generation_detail, name="generation"),
    path("generations/<int:pk>/cancel/", generations.generation_cancel, name="generation_cancel"),
    path("generations/<int:pk>/retry/", generations.generation_retry, name="generation_retry"),
    path("generations/<int:pk>/delete/", generations.generation_delete, name="generation_delete"),
    path(
        "generations/<int:pk>/restore/", generations.generation_restore, name="generation_restore"
    ),
    path("generations/<int:pk>/rerun/", images.generation_rerun, name="generation_rerun"),
    path("boards/<int:pk>/", boards.board_detail, name="board"),
    path("boards/<int:pk>/edit/", boards.board_edit, name="board_edit"),
    path("boards/<int:pk>/delete/", boards.board_delete, name="board_delete"),
    path("boards/<int:pk>/remove/", boards.board_remove_images, name="board_remove_images"),
    path("boards/<int:pk>/share/", sharing.board_share, name="board_share"),
    path("images/<int:pk>/share/", sharing.image_share, name="image_share"),
    # Share links' pages: no login, no ids (gallery.views.sharing).
    path("s/<str:token>/", sharing.shared, name="shared"),
    path("s/<str:token>/<str:key>/<str:variant>/", sharing.shared_file, name="shared_file"),
    path("images/<int:pk>/comments/", comments.comment_add, name="comment_add"),
    path("comments/<int:pk>/edit/", comments.comment_edit, name="comment_edit"),
    path("comments/<int:pk>/delete/", comments.comment_delete, name="comment_delete"),
    path("images/<int:pk>/", images.image_detail, name="image"),
    path("images/<int:pk>/favorite/", images.image_favorite, name="image_favorite"),
    path("images/<int:pk>/delete/", images.image_delete, name="image_delete"),
    path("images/<int:pk>/restore/", images.image_restore, name="image_restore"),
    path("images/<int:pk>/download/", images.image_download, name="image_download"),
    path("images/<int:pk>/original/", media.image_original, name="image_original"),
    path("images/<int:pk>/thumbnail/<str:size>/", media.image_thumbnail, name="image_thumbnail"),
]

urlpatterns = [
    path("accounts/signup/", accounts.signup, name="signup"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    # The header's language switch: for anyone, signed in or not.
    path("language/", preferences.set_language, name="set_language"),
    path("jsi18n/<str:language>.js", preferences.javascript_catalog, name="javascript_catalog"),
    path("admin/", admin.site.urls),
    # Operator URLs, outside the login (see README, "Operating").
    path("healthz", ops_views.healthz, name="healthz"),
    path("metrics", ops_views.metrics_view, name="metrics"),
    path("", include((gallery_patterns, "gallery"))),
]

handler500 = "gallery.ops.views.server_error"
