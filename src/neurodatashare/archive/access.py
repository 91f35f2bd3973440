"""Who may see and change a dataset. Every route goes through these.

Hidden is absent: a caller who may not see a dataset or asset gets exactly the answer
(status and body) it would get for an identifier that does not exist, from `absent`.
For a signed-in caller that is a 404. For an anonymous caller it is a 401 for every
unknown or hidden identifier alike, because the `dandi` client sends its key only after
a 401 (dandi/dandiarchive.py, `navigate`: it retries with `dandi_authenticate()` when
`get_dandiset` or `get_assets` answers 401), so embargoed data stays reachable with a key
while the status says nothing about existence. See docs/security.md.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.orm import Session

from neurodatashare.db.models import (
    Asset,
    Blob,
    Dataset,
    DatasetOwner,
    User,
    Version,
    VersionAsset,
)
from neurodatashare.errors import BadRequest, Forbidden, NDSError, NotAuthenticated, NotFound

DATASET_ID_RE = re.compile(r"^\d{6}$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def check_uuid(value: object, *, what: str) -> str:
    """Asset, blob and upload ids are UUIDs; anything else cannot exist."""
    if not isinstance(value, str) or not UUID_RE.match(value):
        raise NotFound(f"{what} {str(value)[:80]!r} was not found.")
    return value


def today() -> datetime:
    return datetime.now(UTC)


def effective_access(dataset: Dataset) -> str:
    """An embargo ends by itself on its end date."""
    if (
        dataset.access == "embargoed"
        and dataset.embargo_end is not None
        and dataset.embargo_end <= today().date()
    ):
        return "open"
    return dataset.access


def is_owner(dataset: Dataset, user: User | None) -> bool:
    return user is not None and any(o.id == user.id for o in dataset.owners)


def can_view(dataset: Dataset, user: User | None) -> bool:
    if effective_access(dataset) == "open":
        return True
    return user is not None and (user.is_admin or is_owner(dataset, user))


def can_edit(dataset: Dataset, user: User | None) -> bool:
    return user is not None and (user.is_admin or is_owner(dataset, user))


def revoke_signed_links(dataset: Dataset) -> None:
    """Bump the dataset's access generation: every signed link handed out for its files
    stops working (archive/streaming.py). Call it on any change of who may read it."""
    dataset.access_generation = (dataset.access_generation or 0) + 1


def ended_embargo() -> ColumnElement[bool]:
    """SQL condition for an embargo whose end date has come (the dataset is open now)."""
    return and_(
        Dataset.access == "embargoed",
        Dataset.embargo_end.is_not(None),
        Dataset.embargo_end <= today().date(),
    )


def visible_clause(user: User | None) -> ColumnElement[bool]:
    """SQL condition for the datasets `user` may see (listings, search)."""
    ended = ended_embargo()
    owned = (
        Dataset.id.in_(select(DatasetOwner.dataset_id).where(DatasetOwner.user_id == user.id))
        if user is not None
        else false()
    )
    if user is not None and user.is_admin:
        return true()
    return or_(Dataset.access == "open", ended, owned)


def parse_dataset_id(identifier: str | int) -> int:
    text = str(identifier)
    if not DATASET_ID_RE.match(text):
        raise NotFound(f"{text!r} is not a dataset identifier (six digits, like 000001).")
    return int(text)


def absent(what: str, user: User | None) -> NDSError:
    """The one answer for something that does not exist or that `user` may not see."""
    if user is None:
        return NotAuthenticated(
            f"{what} was not found. If it is yours, send your API key "
            "(Authorization: token KEY) or log in."
        )
    return NotFound(f"{what} was not found.")


def load_dataset(
    s: Session, *, dataset_id: str | int, user: User | None, edit: bool = False
) -> Dataset:
    """Load a dataset the user may see (and, with edit=True, change) or raise."""
    number = parse_dataset_id(dataset_id)
    dataset = s.get(Dataset, number)
    if dataset is None or not can_view(dataset, user):
        raise absent(f"Dataset {number:06d}", user)
    if edit and not can_edit(dataset, user):
        if user is None:
            raise NotAuthenticated("Log in or send your API key to change a dataset.")
        raise Forbidden(f"Only the owners of dataset {number:06d} may change it.")
    return dataset


def require_user(user: User | None, *, action: str) -> User:
    if user is None:
        raise NotAuthenticated(f"You need to send your API key to {action}.")
    if not user.approved:
        raise Forbidden(f"Your account is not approved yet, so you cannot {action}.")
    return user


def datasets_holding(s: Session, *, asset_id: str) -> list[Dataset]:
    return list(
        s.scalars(
            select(Dataset)
            .join(Version, Version.dataset_id == Dataset.id)
            .join(VersionAsset, VersionAsset.version_id == Version.id)
            .where(VersionAsset.asset_id == asset_id)
            .distinct()
        ).all()
    )


def blob_of(asset: Asset) -> Blob:
    """The asset's blob; a Zarr asset (a folder of files, archive/zarrs.py) has none, and
    views that read one file answer 400 for it."""
    if asset.blob is None:
        raise BadRequest(
            f"{asset.path} is a Zarr asset (a folder of files); this view reads single "
            f"files. Its files are listed at /api/zarr/{asset.zarr_id}/files/."
        )
    return asset.blob


def visible_asset(s: Session, *, asset_id: str, user: User | None) -> tuple[Asset, Dataset]:
    """An asset by id alone: visible if any dataset holding it is visible to `user`.

    One that exists but is hidden gets exactly the answer of one that does not exist.
    """
    check_uuid(asset_id, what="Asset")
    asset = s.get(Asset, asset_id)
    if asset is not None:
        for dataset in datasets_holding(s, asset_id=asset_id):
            if can_view(dataset, user):
                return asset, dataset
    raise absent(f"Asset {asset_id}", user)
