"""Atelier's data: a Workspace and its members, a Generation (one request, every parameter) and
its Images. A workspace owns generations and images; a Membership gives a user a role in it."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Self

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


def normalize_prompt(prompt: str) -> str:
    """The form prompt history groups by: case-folded, whitespace collapsed."""
    return re.sub(r"\s+", " ", prompt).strip().casefold()


def local_day_bounds(
    date_from: date | None, date_to: date | None
) -> tuple[datetime | None, datetime | None]:
    """[start, end) instants covering the calendar days date_from..date_to, both inclusive, in
    the current time zone (the user's, when a middleware activates it)."""
    tz = timezone.get_current_timezone()
    start = datetime.combine(date_from, time.min, tzinfo=tz) if date_from else None
    end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=tz) if date_to else None
    return start, end


def original_upload_to(image: Image, filename: str) -> str:
    # Content-hashed names: the same bytes get the same name, and a name never changes meaning.
    # Files stored before workspaces live under u<user id>/: their rows keep naming them.
    return f"w{image.workspace_id}/originals/{filename}"


def thumbnail_upload_to(image: Image, filename: str) -> str:
    return f"w{image.workspace_id}/thumbnails/{filename}"


class Role(models.TextChoices):
    """What a member may do grows with the role, in this order (see gallery.policy)."""

    VIEWER = "viewer", _("Viewer")
    REVIEWER = "reviewer", _("Reviewer")
    EDITOR = "editor", _("Editor")
    ADMIN = "admin", _("Admin")
    OWNER = "owner", _("Owner")

    @property
    def rank(self) -> int:
        return ROLE_ORDER.index(self)

    def at_least(self, other: Role) -> bool:
        return self.rank >= Role(other).rank


ROLE_ORDER: tuple[Role, ...] = tuple(Role)


class Workspace(models.Model):
    """What owns generations, images (and boards): a person's own, or a team's."""

    name = models.CharField(max_length=80)
    slug = models.SlugField(max_length=60, unique=True)
    # Made at sign-up for one person; it cannot be deleted or left while that user exists.
    is_personal = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    # Budgets (gallery.services.budgets); blank: no limit. Costs are estimates in US dollars,
    # from the catalog's prices. The per-member limits apply to each member unless their
    # membership sets its own.
    monthly_budget = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    member_monthly_images = models.PositiveIntegerField(null=True, blank=True)
    member_monthly_cost = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    member_per_minute = models.PositiveIntegerField(null=True, blank=True)
    # Model permissions: {role: [catalog model ids the role may use]}; a role not named may use
    # every model (gallery.policy.allowed_models).
    model_rules = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class MembershipQuerySet(models.QuerySet["Membership"]):
    def for_user(self, user: AbstractBaseUser | AnonymousUser) -> MembershipQuerySet:
        """The user's own memberships (the workspaces they may switch to)."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(user=user)

    def with_role_at_least(self, role: Role) -> MembershipQuerySet:
        return self.filter(role__in=ROLE_ORDER[Role(role).rank :])


class Membership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role, default=Role.EDITOR)
    created_at = models.DateTimeField(default=timezone.now)
    # This member's own monthly limits, in place of the workspace's member_monthly_* (blank:
    # the workspace's).
    monthly_images = models.PositiveIntegerField(null=True, blank=True)
    monthly_cost = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["workspace", "user"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="membership_once_per_user"),
        ]
        indexes = [models.Index(fields=["user", "workspace"], name="membership_user_workspace")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.workspace_id} as {self.role}"

    @property
    def role_enum(self) -> Role:
        return Role(self.role)


class SearchableQuerySet[M: models.Model](models.QuerySet[M]):
    """A QuerySet that gallery.services.search may join to its SQLite full-text table with
    extra(tables=...). Django's UPDATE names only the model's table, so an update of such a
    queryset goes through a subquery of its primary keys instead."""

    def update(self, **kwargs: Any) -> int:
        if self.query.extra_tables:
            keys = self.order_by().values("pk")
            return self.model._base_manager.filter(pk__in=keys).update(**kwargs)
        return super().update(**kwargs)

    update.alters_data = True


class GridQuerySet[M: models.Model](SearchableQuerySet[M]):
    """What the generation grid and the image grid share: one workspace's rows, out of the trash,
    narrowed by what the generation asked for. `generation_path` leads from a row to its
    generation's fields: "" on Generation, "generation__" on Image (a join to the generation)."""

    generation_path = ""

    def for_member(self, membership: Membership) -> Self:
        """The rows of the member's workspace: every list and lookup starts here, so no id
        from another workspace can be reached (what the member may do is gallery.policy's)."""
        return self.filter(workspace_id=membership.workspace_id)

    def made_by(self, user_id: int) -> Self:
        return self.filter(created_by_id=user_id)

    def live(self) -> Self:
        # Trashing a generation trashes its images too, so on Image this needs no join.
        return self.filter(deleted_at__isnull=True)

    # Grid filters. Each narrows by one thing the user picked; gallery.services.browse chains
    # them from GridFilters and skips the ones left blank.

    def of_model(self, model: str) -> Self:
        return self.filter(**{f"{self.generation_path}model": model})

    def of_size(self, size: str) -> Self:
        return self.filter(**{f"{self.generation_path}size": size})

    def of_aspect_ratio(self, aspect_ratio: str) -> Self:
        return self.filter(**{f"{self.generation_path}aspect_ratio": aspect_ratio})

    def in_status(self, status: str) -> Self:
        return self.filter(**{f"{self.generation_path}status": status})

    def favorites(self) -> Self:
        """The rows the favourites filter keeps: each model says which (an image that is a
        favourite, a generation that has one)."""
        raise NotImplementedError

    def created_between(self, date_from: date | None, date_to: date | None) -> Self:
        """Created on the calendar days date_from..date_to (inclusive; either may be None).

        By the row's own created_at, not the generation's: each model has its own
        (workspace, created_at) index, so the image grid reads a range of one workspace's
        images."""
        start, end = local_day_bounds(date_from, date_to)
        queryset = self
        if start is not None:
            queryset = queryset.filter(created_at__gte=start)
        if end is not None:
            queryset = queryset.filter(created_at__lt=end)
        return queryset


class GenerationQuerySet(GridQuerySet["Generation"]):
    def pending(self) -> GenerationQuerySet:
        return self.filter(status__in=Generation.PENDING_STATUSES)

    def needing_attention(self, *, failed_since: datetime) -> GenerationQuerySet:
        """Generations still being made, and those that failed since `failed_since`.

        The same rows as filter(Q(pending) | Q(failed, created_at >= failed_since)), asked as
        a union of two index lookups ((workspace, status, id) and (workspace, created_at)):
        databases answer the OR form, ordered by id with a LIMIT, by walking every one of the
        workspace's generations newest first (300 ms at 100k generations on SQLite when few
        are pending).
        """
        pending = self.filter(status__in=Generation.PENDING_STATUSES).values("pk")
        failed = self.filter(status=Generation.Status.FAILED, created_at__gte=failed_since)
        return self.filter(pk__in=pending.union(failed.values("pk")))

    def favorites(self) -> GenerationQuerySet:
        """Generations with at least one live favourite image (EXISTS, so no duplicates)."""
        return self.filter(
            Exists(Image.objects.live().filter(generation=OuterRef("pk"), is_favorite=True))
        )

    def with_live_images(self) -> GenerationQuerySet:
        """Prefetch each generation's live images in the order the API returned them."""
        return self.prefetch_related(
            Prefetch("images", queryset=Image.objects.live().order_by("index"))
        )


class Generation(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        PARTIAL = "partial", _("Partly succeeded")
        FAILED = "failed", _("Failed")
        CANCELED = "canceled", _("Canceled")

    PENDING_STATUSES = (Status.QUEUED, Status.RUNNING)
    FINISHED_STATUSES = (Status.SUCCEEDED, Status.PARTIAL, Status.FAILED, Status.CANCELED)

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="generations")
    # Who asked for it. Removing a member keeps what they made; deleting the user does not.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="generations"
    )
    parent = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="remixes"
    )
    idempotency_key = models.CharField(max_length=64)

    # What the user asked for. Unset options are blank strings here and null/absent on the wire.
    prompt = models.TextField()
    prompt_normalized = models.TextField(editable=False)
    model = models.CharField(max_length=64)
    size = models.CharField(max_length=16, blank=True)
    aspect_ratio = models.CharField(max_length=8, blank=True)
    n = models.PositiveSmallIntegerField(default=1)
    quality = models.CharField(max_length=16, blank=True)
    resolution = models.CharField(max_length=8, blank=True)
    response_format = models.CharField(max_length=16, blank=True)
    # n x the catalog's price for the size and quality when it was asked (US dollars): what
    # budgets count, so a later price change does not rewrite the past. Null (rows from before
    # budgets) counts as nothing; nullable without a default so that SQLite adds the column in
    # place instead of rebuilding the table, which would drop its full-text triggers.
    estimated_cost = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    # Options some models take beyond the common set (style, background, ...).
    extra_params = models.JSONField(default=dict, blank=True)

    status = models.CharField(max_length=16, choices=Status, default=Status.QUEUED)
    error_kind = models.CharField(max_length=32, blank=True)
    error_message = models.TextField(blank=True)
    # The same error as a gallery.i18n.Message (msgid and parameters), shown in each viewer's
    # language; error_message keeps its English words for logs, the admin and older rows.
    # Nullable without a default, so SQLite adds it in place (its full-text triggers stay).
    error_i18n = models.JSONField(null=True, blank=True)

    # What was sent and what came back (never the key, never base64 payloads).
    request_body = models.JSONField(null=True, blank=True)
    response_created = models.BigIntegerField(null=True, blank=True)
    usage = models.JSONField(null=True, blank=True)
    revised_prompt = models.TextField(blank=True)

    # Execution: attempts made, the lease of the worker running it, and when to try next.
    attempts = models.PositiveSmallIntegerField(default=0)
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    api_ms = models.PositiveIntegerField(null=True, blank=True)
    download_ms = models.PositiveIntegerField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = GenerationQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["created_by", "idempotency_key"],
                name="generation_idempotency_key_per_creator",
            ),
            models.CheckConstraint(
                condition=Q(n__gte=1) & Q(n__lte=10), name="generation_n_between_1_and_10"
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "-id"], name="generation_ws_newest"),
            # Prompt history asks "is there a newer live generation of this prompt?" per row it
            # shows: with the id in the key that is one seek, however often the prompt was used.
            models.Index(
                fields=["workspace", "prompt_normalized", "-id"], name="generation_ws_prompt"
            ),
            # Date filters and the usage page read a range of one workspace's days.
            models.Index(fields=["workspace", "created_at"], name="generation_ws_created"),
            # One workspace's generations in a status, newest first: the status filter of the
            # grid, and what is still pending or has failed (needing_attention) without a walk.
            models.Index(fields=["workspace", "status", "-id"], name="generation_ws_status"),
            # The team gallery's "made by" filter: one member's rows of a workspace.
            models.Index(fields=["workspace", "created_by", "-id"], name="generation_ws_creator"),
            models.Index(
                fields=["status", "lease_expires_at"],
                name="generation_pending_lease",
                condition=Q(status__in=["queued", "running"]),
            ),
            # /metrics reads what finished in the last hour.
            models.Index(fields=["finished_at"], name="generation_finished"),
        ]

    def __str__(self) -> str:
        return f"{self.model}: {self.prompt[:60]}"

    def save(self, *args, **kwargs) -> None:
        self.prompt_normalized = normalize_prompt(self.prompt)
        if kwargs.get("update_fields") is not None and "prompt" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "prompt_normalized"}
        super().save(*args, **kwargs)

    @property
    def is_pending(self) -> bool:
        return self.status in self.PENDING_STATUSES

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED_STATUSES


class ImageQuerySet(GridQuerySet["Image"]):
    generation_path = "generation__"

    def favorites(self) -> ImageQuerySet:
        return self.filter(is_favorite=True)

    def in_board(self, board: Board) -> ImageQuerySet:
        """The images put on `board` (a join through BoardImage, read by its (board, image)
        key, so a board's grid is as cheap as the workspace's)."""
        return self.filter(board_entries__board=board)


class Image(models.Model):
    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="images")
    # Denormalised from the generation so a workspace's grid is one index range scan.
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="images")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="images"
    )
    index = models.PositiveSmallIntegerField()

    original = models.ImageField(
        upload_to=original_upload_to, width_field="width", height_field="height", max_length=255
    )
    format = models.CharField(max_length=8)  # "png", "jpeg", "webp", ... read from the bytes
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    bytes = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    thumbnail_small = models.FileField(upload_to=thumbnail_upload_to, max_length=255)
    thumbnail_large = models.FileField(upload_to=thumbnail_upload_to, max_length=255)
    placeholder_color = models.CharField(max_length=7, default="#888888")
    revised_prompt = models.TextField(blank=True)

    is_favorite = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = ImageQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["generation", "index"], name="image_one_per_index"),
        ]
        indexes = [
            models.Index(
                fields=["workspace", "-id"],
                name="image_ws_live_newest",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["workspace", "-id"],
                name="image_ws_favorites",
                condition=Q(deleted_at__isnull=True, is_favorite=True),
            ),
            models.Index(
                fields=["workspace", "created_by", "-id"],
                name="image_ws_live_creator",
                condition=Q(deleted_at__isnull=True),
            ),
            # The trash page: one workspace's trashed images, newest first.
            models.Index(
                fields=["workspace", "-id"],
                name="image_ws_trashed",
                condition=Q(deleted_at__isnull=False),
            ),
            # Search results come newest generation first (gallery.services.search): a search
            # the full-text index cannot serve (one- and two-character terms) walks this one.
            models.Index(
                fields=["workspace", "-generation"],
                name="image_ws_live_generation",
                condition=Q(deleted_at__isnull=True),
            ),
            # A date filter reads a range of days instead of every newer image.
            models.Index(
                fields=["workspace", "created_at"],
                name="image_ws_live_created",
                condition=Q(deleted_at__isnull=True),
            ),
            # Emptying the trash and the orphan sweep ask "does any row still name this file?"
            # (content-hashed names are shared by rows holding the same bytes).
            models.Index(fields=["original"], name="image_original_name"),
            models.Index(fields=["thumbnail_small"], name="image_thumbnail_small_name"),
            models.Index(fields=["thumbnail_large"], name="image_thumbnail_large_name"),
        ]

    def __str__(self) -> str:
        return f"Image {self.index + 1} of generation {self.generation_id}"

    @property
    def aspect_ratio_css(self) -> str:
        return f"{self.width} / {self.height}"


class BoardQuerySet(models.QuerySet["Board"]):
    def for_member(self, membership: Membership) -> BoardQuerySet:
        """The boards of the member's workspace the member may see: the workspace's boards,
        and their own "only me" ones (another member's private board is as if absent, to an
        admin too)."""
        return self.filter(workspace_id=membership.workspace_id).filter(
            Q(visibility=Board.Visibility.WORKSPACE) | Q(created_by_id=membership.user_id)
        )

    def with_cover_and_count(self) -> BoardQuerySet:
        """Each board with `image_count` (its live images) and `cover_image_id` (the chosen
        cover while it is live, else the newest live image; None when empty): one query for
        the whole list, two correlated subqueries on BoardImage's (board, image) key."""
        live_entries = BoardImage.objects.filter(
            board=OuterRef("pk"), image__deleted_at__isnull=True
        )
        newest = live_entries.order_by("-image_id").values("image_id")[:1]
        count = live_entries.order_by().values("board").annotate(n=Count("pk")).values("n")
        chosen = Image.objects.filter(pk=OuterRef("cover_id"), deleted_at__isnull=True)
        return self.annotate(
            image_count=Coalesce(Subquery(count), 0),
            cover_image_id=Coalesce(
                Subquery(chosen.values("pk")[:1]),
                Subquery(newest),
                output_field=models.BigIntegerField(),
            ),
        )


class Board(models.Model):
    """A named collection of a workspace's images; an image can be on many boards."""

    class Visibility(models.TextChoices):
        WORKSPACE = "workspace", _("Everyone in the workspace")
        PRIVATE = "private", _("Only me")

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="boards")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="boards"
    )
    name = models.CharField(max_length=80)
    visibility = models.CharField(max_length=16, choices=Visibility, default=Visibility.WORKSPACE)
    # Chosen by whoever manages the board; when unset (or trashed) the newest image stands in.
    cover = models.ForeignKey(
        Image, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    images = models.ManyToManyField(Image, through="BoardImage", related_name="boards")
    created_at = models.DateTimeField(default=timezone.now)

    objects = BoardQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["workspace", "name"], name="board_ws_name")]

    def __str__(self) -> str:
        return self.name


class BoardImage(models.Model):
    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="entries")
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="board_entries")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # Its index is what a board's grid reads: one board's images by id.
            models.UniqueConstraint(fields=["board", "image"], name="board_image_once"),
        ]
        indexes = [models.Index(fields=["image", "board"], name="board_image_by_image")]

    def __str__(self) -> str:
        return f"Image {self.image_id} on board {self.board_id}"


class InvitationQuerySet(models.QuerySet["Invitation"]):
    def usable(self) -> InvitationQuerySet:
        """Not revoked, not expired, uses left: what accepting may take (conditionally)."""
        return self.filter(
            revoked_at__isnull=True, expires_at__gt=timezone.now(), uses__lt=models.F("max_uses")
        )


class Invitation(models.Model):
    """A link that makes whoever opens it (logged in) a member with `role`, until it expires,
    is used `max_uses` times, or is revoked. Only a hash of its token is stored: the link is
    shown once, when it is made."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(max_length=16, choices=Role, default=Role.VIEWER)
    token_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    max_uses = models.PositiveIntegerField(default=1)
    uses = models.PositiveIntegerField(default=0)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(uses__lte=models.F("max_uses")), name="invitation_uses_within_max"
            ),
        ]

    def __str__(self) -> str:
        return f"Invitation to {self.workspace_id} as {self.role}"

    @property
    def is_usable(self) -> bool:
        return (
            self.revoked_at is None
            and self.expires_at > timezone.now()
            and self.uses < self.max_uses
        )


class ShareLinkQuerySet(models.QuerySet["ShareLink"]):
    def live(self) -> ShareLinkQuerySet:
        """Not revoked and not expired: the links that still open."""
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())


class ShareLink(models.Model):
    """A read-only link to one image or one board that anyone holding it may open, logged in or
    not, until it expires or is revoked (gallery.services.sharing).

    Its token is a split token: a public `selector` (found by index) followed by a secret
    verifier of which only a hash is stored and which is compared in constant time. The link is
    shown once, when it is made."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="share_links")
    # Exactly one of image and board.
    image = models.ForeignKey(
        Image, on_delete=models.CASCADE, null=True, blank=True, related_name="share_links"
    )
    board = models.ForeignKey(
        Board, on_delete=models.CASCADE, null=True, blank=True, related_name="share_links"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    selector = models.CharField(max_length=16, unique=True)
    verifier_hash = models.CharField(max_length=64)
    allow_download = models.BooleanField(default=False)
    # What the shared page may show besides the pictures.
    show_prompt = models.BooleanField(default=True)
    show_creator = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    views = models.PositiveIntegerField(default=0)
    last_viewed_at = models.DateTimeField(null=True, blank=True)

    objects = ShareLinkQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(image__isnull=False, board__isnull=True)
                | Q(image__isnull=True, board__isnull=False),
                name="share_link_one_target",
            ),
        ]
        indexes = [models.Index(fields=["workspace", "-id"], name="share_link_ws_newest")]

    def __str__(self) -> str:
        target = f"image {self.image_id}" if self.image_id else f"board {self.board_id}"
        return f"Share link to {target}"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class CommentQuerySet(models.QuerySet["Comment"]):
    def for_member(self, membership: Membership) -> CommentQuerySet:
        return self.filter(workspace_id=membership.workspace_id)


class Comment(models.Model):
    """A comment in an image's thread, optionally pinned to a point of the image (x, y from the
    top left, as fractions of its width and height: the same spot at any size or zoom)."""

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="comments")
    # Denormalised from the image, so the access helper checks membership in one join.
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="comments")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comments"
    )
    body = models.TextField()
    x = models.FloatField(null=True, blank=True)
    y = models.FloatField(null=True, blank=True)
    # The members an @name in the body named when it was last saved (members only).
    mentions = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="comment_mentions"
    )
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)

    objects = CommentQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(x__isnull=True, y__isnull=True)
                | Q(x__gte=0, x__lte=1, y__gte=0, y__lte=1),
                name="comment_pin_inside_the_image",
            ),
        ]
        indexes = [models.Index(fields=["image", "id"], name="comment_image_thread")]

    def __str__(self) -> str:
        return f"Comment {self.pk} on image {self.image_id}"

    @property
    def is_pinned(self) -> bool:
        return self.x is not None and self.y is not None

    # The pin's place as CSS percentages (a dot whatever the locale's decimal separator).
    @property
    def x_percent(self) -> str:
        return f"{self.x * 100:.2f}" if self.x is not None else ""

    @property
    def y_percent(self) -> str:
        return f"{self.y * 100:.2f}" if self.y is not None else ""


class UserPreference(models.Model):
    """A user's own language and time zone (gallery.i18n). Blank language: their browser's
    (Accept-Language); blank time zone: not detected yet (settings.TIME_ZONE until then)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="preference",
    )
    language = models.CharField(max_length=16, blank=True, choices=settings.LANGUAGES)
    time_zone = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Preferences of {self.user_id}"
