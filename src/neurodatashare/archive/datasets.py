"""Datasets ("Dandisets"): create, list, get, delete, and who owns and may see them."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neurodatashare.archive.access import (
    ended_embargo,
    load_dataset,
    require_user,
    revoke_signed_links,
    today,
    visible_clause,
)
from neurodatashare.archive.assets import drop_version_assets
from neurodatashare.archive.context import Archive
from neurodatashare.archive.versions import (
    clean_metadata,
    dataset_json,
    datasets_json,
    draft_of,
    latest_published,
    refresh_status,
)
from neurodatashare.archive.zarrs import drop_zarrs, release_keys
from neurodatashare.db.models import Dataset, DatasetOwner, RetiredDatasetId, User, Version
from neurodatashare.errors import BadRequest, Forbidden, NotAuthenticated, NotFound

ACCESS_LEVELS = ("open", "embargoed", "private")
# The DANDI Archive's default embargo, when a new dataset names no end date: two years.
DEFAULT_EMBARGO_DAYS = 365 * 2


def default_embargo_end() -> date:
    return today().date() + timedelta(days=DEFAULT_EMBARGO_DAYS)


def _parse_access(
    access: str, embargo_end: str | date | None, *, default_end: bool = False
) -> tuple[str, date | None]:
    if access not in ACCESS_LEVELS:
        raise BadRequest(f"access must be one of {', '.join(ACCESS_LEVELS)}.")
    end: date | None = None
    if access == "embargoed":
        if embargo_end is None and default_end:
            embargo_end = default_embargo_end()
        if embargo_end is None:
            raise BadRequest("An embargoed dataset needs an end date (embargo_end, YYYY-MM-DD).")
        try:
            end = embargo_end if isinstance(embargo_end, date) else date.fromisoformat(embargo_end)
        except ValueError:
            raise BadRequest(
                f"embargo_end {embargo_end!r} is not a date like 2027-06-30."
            ) from None
        if end <= today().date():
            raise BadRequest("The embargo end date must be in the future.")
    return access, end


def _add_funder(meta: dict[str, Any], source: str | None, award: str | None) -> None:
    """As DANDI does for an embargo: the funder becomes a contributor with the award."""
    source, award = (source or "").strip() or None, (award or "").strip() or None
    if (source is None) != (award is None):
        raise BadRequest("Give both funding_source and award_number for an embargo, or neither.")
    if source is None:
        return
    contributors = meta.get("contributor")
    if not isinstance(contributors, list):
        contributors = []
    funder: dict[str, Any] = {
        "schemaKey": "Organization",
        "name": source,
        "roleName": ["dcite:Funder"],
        "awardNumber": award,
        "includeInCitation": False,
    }
    meta["contributor"] = [*contributors, funder]


def _requested_id(metadata: dict[str, Any], user: User) -> int | None:
    ident = metadata.get("identifier")
    if not ident:
        return None
    if not user.is_admin:
        raise Forbidden("Only administrators may choose a dataset identifier.")
    number = str(ident).rsplit(":", 1)[-1]
    if not (number.isdigit() and len(number) == 6):
        raise BadRequest(f"identifier {ident!r} must end in six digits, like NDS:000123.")
    return int(number)


def create_dataset(
    archive: Archive,
    *,
    user: User | None,
    name: str | None,
    metadata: dict[str, Any] | None,
    access: str = "open",
    embargo_end: str | date | None = None,
    funding_source: str | None = None,
    award_number: str | None = None,
) -> dict[str, Any]:
    """A new dataset with an empty draft. An embargo without an end date lasts two years
    (DANDI's default); a funding source (with its award number) becomes a Funder."""
    owner = require_user(user, action="create a dataset")
    if name is None or not name.strip():
        raise BadRequest("A dataset needs a name (a non-empty string).")
    meta = metadata if metadata is not None else {}
    requested = _requested_id(meta, owner)
    meta = clean_metadata(meta)
    meta["name"] = name.strip()
    access, end = _parse_access(access, embargo_end, default_end=True)
    if access == "embargoed":
        _add_funder(meta, funding_source, award_number)
    for _attempt in range(5):  # ids are max+1; a concurrent create can take ours first
        try:
            with archive.db.write() as s:
                number = requested or _next_id(s)
                if number >= 1_000_000:
                    raise BadRequest("This archive has no dataset identifiers left.")
                if requested and s.get(Dataset, number) is not None:
                    raise BadRequest(f"Dataset {number:06d} already exists.")
                if requested and s.get(RetiredDatasetId, number) is not None:
                    raise BadRequest(
                        f"Dataset {number:06d} was deleted; its identifier is never reused."
                    )
                dataset = Dataset(id=number, access=access, embargo_end=end)
                s.add(dataset)
                s.flush()
                s.add(DatasetOwner(dataset_id=number, user_id=owner.id))
                draft = Version(dataset_id=number, version="draft", name=name.strip(), meta=meta)
                s.add(draft)
                s.flush()
                refresh_status(s, draft)
                s.flush()
                s.refresh(dataset)
                return dataset_json(archive, s, dataset=dataset)
        except IntegrityError:
            if requested:
                raise BadRequest(f"Dataset {requested:06d} already exists.") from None
    raise BadRequest("Could not allocate a dataset identifier; try again.")


def _next_id(s: Session) -> int:
    """One more than any identifier ever given out, deleted datasets included."""
    live = s.scalar(select(func.max(Dataset.id))) or 0
    retired = s.scalar(select(func.max(RetiredDatasetId.id))) or 0
    return max(live, retired) + 1


def get_dataset(archive: Archive, *, dataset_id: str, user: User | None) -> dict[str, Any]:
    with archive.db.read() as s:
        dataset = load_dataset(s, dataset_id=dataset_id, user=user)
        return dataset_json(archive, s, dataset=dataset)


def list_datasets(
    archive: Archive,
    *,
    user: User | None,
    mine: bool = False,
    search: str | None = None,
    embargoed: bool | None = None,
    draft: bool = True,
    empty: bool = True,
    starred: bool = False,
    ordering: str = "id",
    offset: int = 0,
    limit: int = 100,
) -> tuple[int, list[dict[str, Any]]]:
    """(total, page) of the datasets `user` may see, with DANDI's list filters.

    `draft=False` keeps datasets with a published version; `empty=False` drops datasets
    whose most recent version has no files; `embargoed=False` drops embargoed (and
    private) datasets, `None` keeps every visible one. `search` needs every word in the
    metadata or name of one of the dataset's versions (or is the dataset's number).
    """
    from neurodatashare.archive.dataset_filters import (
        filter_search,
        has_files_clause,
        order_clause,
    )

    order = order_clause(ordering)
    query = select(Dataset).where(visible_clause(user))
    if mine or starred:
        if user is None:
            if starred:
                raise NotAuthenticated("Log in or send your API key to list starred datasets.")
            return 0, []
        query = query.where(
            Dataset.id.in_(select(DatasetOwner.dataset_id).where(DatasetOwner.user_id == user.id))
        )
    if starred:  # nobody stars datasets here yet
        return 0, []
    if embargoed is False:
        query = query.where(or_(Dataset.access == "open", ended_embargo()))
    if not draft:
        published = select(Version.dataset_id).where(Version.version != "draft")
        query = query.where(Dataset.id.in_(published))
    if not empty:
        query = query.where(has_files_clause())
    if search and search.replace("\x00", "").strip():
        query = filter_search(
            query, search.replace("\x00", ""), dialect=archive.db.engine.dialect.name
        )
    with archive.db.read() as s:
        total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = s.scalars(query.order_by(*order).offset(offset).limit(limit)).all()
        return total, datasets_json(archive, s, datasets=list(rows))


def delete_dataset(archive: Archive, *, dataset_id: str, user: User | None) -> None:
    def delete(s: Session) -> list[str]:
        dataset = load_dataset(s, dataset_id=dataset_id, user=user, edit=True)
        if latest_published(s, dataset) is not None:
            raise Forbidden(
                f"Dataset {dataset.id:06d} has published versions, which are permanent "
                "and citable, so it cannot be deleted."
            )
        drop_version_assets(s, draft_of(s, dataset))
        released = drop_zarrs(s, dataset_id=dataset.id)
        s.add(RetiredDatasetId(id=dataset.id))
        s.delete(dataset)
        return released

    # a file's pipeline may be writing its results as the dataset goes (seen: a deadlock)
    released = archive.db.transact(delete)
    release_keys(archive, released)  # the Zarr files' objects, once nothing names them


def set_access(
    archive: Archive,
    *,
    dataset_id: str,
    user: User | None,
    access: str,
    embargo_end: str | None = None,
) -> dict[str, Any]:
    level, end = _parse_access(access, embargo_end)
    with archive.db.write() as s:
        dataset = load_dataset(s, dataset_id=dataset_id, user=user, edit=True)
        dataset.access, dataset.embargo_end = level, end
        revoke_signed_links(dataset)
        s.flush()
        return dataset_json(archive, s, dataset=dataset)


def list_owners(archive: Archive, *, dataset_id: str, user: User | None) -> list[dict[str, str]]:
    with archive.db.read() as s:
        dataset = load_dataset(s, dataset_id=dataset_id, user=user)
        return [{"username": o.username, "name": o.username} for o in dataset.owners]


def set_owners(
    archive: Archive, *, dataset_id: str, user: User | None, usernames: list[str]
) -> list[dict[str, str]]:
    if not usernames:
        raise BadRequest("A dataset needs at least one owner.")
    with archive.db.write() as s:
        dataset = load_dataset(s, dataset_id=dataset_id, user=user, edit=True)
        users = s.scalars(select(User).where(User.username.in_(usernames))).all()
        unknown = sorted(set(usernames) - {u.username for u in users})
        if unknown:
            raise NotFound(f"There is no user named {', '.join(unknown)}.")
        for row in s.scalars(select(DatasetOwner).where(DatasetOwner.dataset_id == dataset.id)):
            s.delete(row)
        s.flush()
        for u in users:
            s.add(DatasetOwner(dataset_id=dataset.id, user_id=u.id))
        revoke_signed_links(dataset)  # a removed owner's links stop working
        s.flush()
        s.refresh(dataset)
        return [{"username": o.username, "name": o.username} for o in dataset.owners]
