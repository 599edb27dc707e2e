"""Boards: named collections of a workspace's images (an image can be on many).

Who may do what is gallery.policy's (the views ask it); these functions trust that the caller
fetched the board through Board.objects.for_member or gallery.views.access.access_board, and
take image ids only from the member's own workspace, so no id of another workspace is reached.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Exists, OuterRef

from gallery.models import Board, BoardImage, Image

if TYPE_CHECKING:
    from gallery.models import Membership

MAX_IMAGES_PER_CHANGE = 500


def create_board(*, membership: Membership, name: str, visibility: str) -> Board:
    return Board.objects.create(
        workspace_id=membership.workspace_id,
        created_by_id=membership.user_id,
        name=name.strip(),
        visibility=Board.Visibility(visibility),
    )


def update_board(
    *, board: Board, membership: Membership, name: str, visibility: str, cover_id: int | None
) -> Board:
    """Rename, change visibility, choose a cover (an image on the board, or None for the newest).
    A cover that is not on the board is ignored."""
    board.name = name.strip()
    board.visibility = Board.Visibility(visibility)
    if cover_id is None or board_images(board=board, membership=membership, ids=[cover_id]):
        board.cover_id = cover_id
    board.save(update_fields=["name", "visibility", "cover"])
    return board


def delete_board(*, board: Board) -> None:
    """The board goes; its images stay in the workspace (and on other boards)."""
    board.delete()


def _live_ids(*, membership: Membership, ids: Iterable[int]) -> list[int]:
    wanted = list(dict.fromkeys(ids))[:MAX_IMAGES_PER_CHANGE]
    return list(
        Image.objects.for_member(membership)
        .live()
        .filter(pk__in=wanted)
        .values_list("pk", flat=True)
    )


def board_images(*, board: Board, membership: Membership, ids: Iterable[int]) -> list[int]:
    """Which of `ids` are live images on the board."""
    return list(
        Image.objects.for_member(membership)
        .live()
        .in_board(board)
        .filter(pk__in=list(ids))
        .values_list("pk", flat=True)
    )


def add_images(*, board: Board, membership: Membership, ids: Iterable[int]) -> int:
    """Put the member's workspace's live images `ids` on the board; ids of other workspaces,
    trashed images and images already there are skipped. Returns how many were added."""
    found = _live_ids(membership=membership, ids=ids)
    with transaction.atomic():
        already = set(
            BoardImage.objects.filter(board=board, image_id__in=found).values_list(
                "image_id", flat=True
            )
        )
        new = [pk for pk in found if pk not in already]
        BoardImage.objects.bulk_create(
            [BoardImage(board=board, image_id=pk, added_by_id=membership.user_id) for pk in new],
            # A concurrent add of the same image: the unique constraint keeps one row.
            ignore_conflicts=True,
        )
    return len(new)


def remove_images(*, board: Board, ids: Iterable[int]) -> int:
    """Take images off the board (they stay in the workspace). Returns how many were removed."""
    wanted = list(dict.fromkeys(ids))[:MAX_IMAGES_PER_CHANGE]
    removed, _ = BoardImage.objects.filter(board=board, image_id__in=wanted).delete()
    if board.cover_id in wanted:
        board.cover_id = None
        board.save(update_fields=["cover"])
    return removed


def board_list(*, membership: Membership) -> list[Board]:
    """The boards the member sees, each with image_count and cover_image_id (one query)."""
    return list(Board.objects.for_member(membership).with_cover_and_count())


def boards_for_image(*, membership: Membership, image: Image) -> list[Board]:
    """The boards the member sees, each marked `has_image` (one query): the overlay's list."""
    return list(
        Board.objects.for_member(membership).annotate(
            has_image=Exists(BoardImage.objects.filter(board=OuterRef("pk"), image=image))
        )
    )
