"""Fill an archive with many datasets and files of realistic metadata, for search at scale.

`fill(db, datasets=10_000, assets=1_000_000)` writes users, datasets (a draft each, with
Dandiset metadata; open, private and embargoed), blobs (rows only: no bytes are written),
assets in BIDS/DANDI paths and each blob's extracted metadata as the format plugins store
it (testing/search_corpus_files.py), with bulk Core inserts in batches (one transaction
each), never the ORM per row or the HTTP API. Bulk inserts pass by the index's session
hooks, so `build_index` (the real `search_index.rebuild`) indexes afterwards.

Deterministic by seed: a dataset's contents depend on the seed and its number only. What
each dataset should be found by is kept in `Corpus.datasets` (ground truth), so tests can
compare search answers with brute force over it.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, text

from neurodatashare.archive import search_index
from neurodatashare.archive.derived import producers
from neurodatashare.db.models import (
    Asset,
    Base,
    Blob,
    Dataset,
    DatasetOwner,
    Derived,
    RetiredDatasetId,
    User,
    Version,
    VersionAsset,
)
from neurodatashare.formats import format_for
from neurodatashare.testing import search_corpus_words as words
from neurodatashare.testing.search_corpus_files import Plan, make_file, plan

if TYPE_CHECKING:
    from neurodatashare.db import Database

EPOCH = datetime(2019, 1, 1, tzinfo=UTC)
ACCESS = (("open", 80), ("private", 12), ("embargoed", 8))


@dataclass
class DatasetTruth:
    """What search should make of one dataset."""

    id: int
    name: str
    access: str  # as stored; an embargo that has ended makes it open
    embargo_end: date | None
    owners: tuple[str, ...]
    words: frozenset[str]  # topic words (words.TOPIC_WORDS) its own text holds
    facets: dict[str, set[str]]  # facet -> keys, from its files and its licence
    units: list[int] = field(default_factory=list)  # each file's unit count, where it has one
    assets: int = 0

    def effective_access(self, today: date) -> str:
        ended = self.embargo_end is not None and self.embargo_end <= today
        return "open" if self.access == "embargoed" and ended else self.access

    def visible_to(self, username: str | None, today: date) -> bool:
        return self.effective_access(today) == "open" or username in self.owners


@dataclass
class Corpus:
    seed: int
    datasets: list[DatasetTruth]
    users: list[str]
    assets: int
    fill_seconds: float = 0.0
    index_seconds: float = 0.0


def allocate(total: int, parts: int, rng: random.Random) -> list[int]:
    """`total` files over `parts` datasets, skewed (lognormal) as real archives are, each
    dataset at least one file; exactly `total` in all."""
    if total < parts:
        raise ValueError(f"{total} files cannot fill {parts} datasets (one each at least).")
    weights = [rng.lognormvariate(0, 1.4) for _ in range(parts)]
    spare = total - parts
    scale = spare / sum(weights)
    counts = [1 + int(w * scale) for w in weights]
    short = total - sum(counts)
    for i in sorted(range(parts), key=lambda i: -weights[i])[:short]:
        counts[i] += 1
    return counts


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _person(rng: random.Random) -> str:
    return f"{rng.choice(words.FAMILY_NAMES)}, {rng.choice(words.GIVEN_NAMES)}"


def dataset_metadata(
    rng: random.Random, plan: Plan, number: int
) -> tuple[str, dict[str, Any], list[str]]:
    """(name, Dandiset metadata, topic words) of one dataset."""
    topics = rng.sample(words.TOPICS, rng.choice((1, 1, 2)))
    acronym, region = plan.regions[0]
    species = plan.species[0]
    name = f"{rng.choice(words.STUDY_WORDS)} {topics[0]} in {region} of {species}"
    description = (
        f"{plan.kind.capitalize()} data on {' and '.join(topics)} from {plan.subjects} "
        f"subjects ({species}), {acronym} and nearby areas. Collected by the {plan.lab} "
        f"at {plan.institution}."
    )
    licence = rng.choices([lic for lic, _w in words.LICENCES], [w for _l, w in words.LICENCES])
    contributors: list[dict[str, Any]] = [
        {
            "schemaKey": "Person",
            "name": _person(rng),
            "email": f"contact{number}@example.org",
            "roleName": ["dcite:ContactPerson", "dcite:Author"],
            "affiliation": [{"schemaKey": "Affiliation", "name": plan.institution}],
            "includeInCitation": True,
        },
        *[
            {
                "schemaKey": "Person",
                "name": _person(rng),
                "roleName": ["dcite:DataCollector"],
                "includeInCitation": True,
            }
            for _ in range(rng.randint(0, 4))
        ],
    ]
    if rng.random() < 0.7:
        funder, prefix = rng.choice(words.FUNDERS)
        contributors.append(
            {
                "schemaKey": "Organization",
                "name": funder,
                "roleName": ["dcite:Funder"],
                "awardNumber": f"{prefix}{rng.randint(100000, 999999)}",
                "includeInCitation": False,
            }
        )
    meta: dict[str, Any] = {
        "schemaKey": "Dandiset",
        "name": name,
        "description": description,
        "license": licence,
        "contributor": contributors,
        "keywords": [*topics, plan.kind],
        "about": [{"schemaKey": "Anatomy", "name": n} for _a, n in plan.regions],
        "ethicsApproval": [],
    }
    if rng.random() < 0.5:
        meta["relatedResource"] = [
            {
                "schemaKey": "Resource",
                "identifier": f"doi:10.{rng.randint(1000, 9999)}/nds.{number}",
                "url": f"https://doi.org/10.{rng.randint(1000, 9999)}/nds.{number}",
                "name": f"{topics[0].capitalize()} in {region}",
                "relation": "dcite:IsDescribedBy",
            }
        ]
    topic_words = sorted({w for t in topics for w in t.split()})
    return name, meta, topic_words


class _Writer:
    """Rows waiting to be inserted, flushed in foreign-key order, one transaction each."""

    ORDER = (User, Dataset, DatasetOwner, Version, Blob, Asset, VersionAsset, Derived)

    def __init__(self, db: Database) -> None:
        self.db = db
        self.rows: dict[type, list[dict[str, Any]]] = {m: [] for m in self.ORDER}

    def add(self, model: type, row: dict[str, Any]) -> None:
        self.rows[model].append(row)

    def flush(self) -> None:
        with self.db.write() as s:
            conn = s.connection()
            for model in self.ORDER:
                rows = self.rows[model]
                if rows:
                    conn.execute(insert(Base.metadata.tables[model.__tablename__]), rows)
                    rows.clear()


def _next_ids(db: Database) -> dict[str, int]:
    with db.read() as s:
        dataset = max(
            s.scalar(select(func.max(Dataset.id))) or 0,
            s.scalar(select(func.max(RetiredDatasetId.id))) or 0,
        )
        return {
            "dataset": dataset + 1,
            "user": (s.scalar(select(func.max(User.id))) or 0) + 1,
            "version": (s.scalar(select(func.max(Version.id))) or 0) + 1,
            "derived": (s.scalar(select(func.max(Derived.id))) or 0) + 1,
        }


def _reset_sequences(db: Database) -> None:
    """Explicit ids leave PostgreSQL's sequences behind; move them past the rows."""
    if db.is_sqlite:
        return
    with db.write() as s:
        for table in ("users", "versions", "derived"):
            s.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
                )
            )


def fill(
    db: Database,
    *,
    datasets: int = 10_000,
    assets: int = 1_000_000,
    seed: int = 0,
    batch: int = 10_000,
    progress: Callable[[int, int], None] | None = None,
) -> Corpus:
    """Write `datasets` datasets holding `assets` files in all (no index; see
    `build_index`); returns the ground truth."""
    started = time.perf_counter()
    top = random.Random(seed)
    ids = _next_ids(db)
    counts = allocate(assets, datasets, top)
    writer = _Writer(db)
    n_users = max(3, datasets // 4)
    users = [f"user{ids['user'] + i:05d}" for i in range(n_users)]
    user_ids = {u: ids["user"] + i for i, u in enumerate(users)}
    for i, username in enumerate(users):
        writer.add(
            User,
            {
                "id": ids["user"] + i,
                "username": username,
                "email": f"{username}@example.org",
                "password_hash": None,
                "is_admin": False,
                "approved": True,
                "disabled": False,
                "session_generation": 0,
                "created": EPOCH,
            },
        )
    made_by = {name: producers(format_for(f"x.{suffix}"))["metadata"] for name, suffix in (
        ("nwb", "nwb"), ("anndata", "h5ad"), ("swc", "swc"), ("neuroml", "nml"))}  # fmt: skip
    truths: list[DatasetTruth] = []
    derived_id = ids["derived"]
    written = 0
    for d, n_files in enumerate(counts):
        number = ids["dataset"] + d
        version_id = ids["version"] + d
        rng = random.Random(f"{seed}:{number}")
        the_plan = plan(rng)
        name, meta, topic_words = dataset_metadata(rng, the_plan, number)
        access = rng.choices([a for a, _w in ACCESS], [w for _a, w in ACCESS])[0]
        embargo_end = None
        if access == "embargoed":  # a quarter of embargoes have ended (the data is open)
            days = rng.randint(-700, -1) if rng.random() < 0.25 else rng.randint(30, 1500)
            embargo_end = date.today() + timedelta(days=days)
        owners = tuple(rng.sample(users, 2 if rng.random() < 0.1 else 1))
        created = EPOCH + timedelta(minutes=rng.randint(0, 60 * 24 * 365 * 7))
        modified = created + timedelta(days=rng.randint(0, 300))
        writer.add(
            Dataset,
            {
                "id": number,
                "access": access,
                "embargo_end": embargo_end,
                "created": created,
                "modified": modified,
                "access_generation": 0,
            },
        )
        for owner in owners:
            writer.add(DatasetOwner, {"dataset_id": number, "user_id": user_ids[owner]})
        writer.add(
            Version,
            {
                "id": version_id,
                "dataset_id": number,
                "version": "draft",
                "name": name,
                "metadata": meta,
                "status": "Pending",
                "created": created,
                "modified": modified,
            },
        )
        truth = DatasetTruth(
            id=number,
            name=name,
            access=access,
            embargo_end=embargo_end,
            owners=owners,
            words=frozenset(topic_words),
            facets={"licence": {lic.lower() for lic in meta["license"]}},
            assets=n_files,
        )
        for index in range(n_files):
            f = make_file(rng, the_plan, index)
            blob_id, asset_id = _uuid(rng), _uuid(rng)
            etag = f"{rng.getrandbits(128):032x}-{1 + f.size // 64_000_000}"
            writer.add(
                Blob,
                {
                    "id": blob_id,
                    "etag": etag,
                    "sha256": f"{rng.getrandbits(256):064x}",
                    "size": f.size,
                    "key": f"blobs/{blob_id[:3]}/{blob_id[3:6]}/{blob_id}",
                    "created": modified,
                },
            )
            writer.add(
                Asset,
                {
                    "id": asset_id,
                    "path": f.path,
                    "blob_id": blob_id,
                    "zarr_id": None,
                    "metadata": {"schemaKey": "Asset", "path": f.path},
                    "created": modified,
                    "modified": modified,
                },
            )
            writer.add(
                VersionAsset, {"version_id": version_id, "asset_id": asset_id, "path": f.path}
            )
            writer.add(
                Derived,
                {
                    "id": derived_id,
                    "blob_id": blob_id,
                    "zarr_checksum": None,
                    "kind": "metadata",
                    "producer": made_by[f.format],
                    "payload": f.payload,
                    "max_severity": None,
                    "storage_key": None,
                    "error": None,
                    "created": modified,
                },
            )
            derived_id += 1
            for facet, keys in f.claims.items():
                truth.facets.setdefault(facet, set()).update(keys)
            if f.units is not None:
                truth.units.append(f.units)
            written += 1
            if len(writer.rows[Asset]) >= batch:
                writer.flush()
                if progress is not None:
                    progress(written, assets)
        truths.append(truth)
    writer.flush()
    _reset_sequences(db)
    return Corpus(
        seed=seed,
        datasets=truths,
        users=users,
        assets=written,
        fill_seconds=round(time.perf_counter() - started, 3),
    )


def build_index(db: Database, corpus: Corpus | None = None) -> dict[str, Any]:
    """Index everything with the archive's own `rebuild`; notes its time in `corpus`."""
    report = search_index.rebuild(db)
    if corpus is not None:
        corpus.index_seconds = report["seconds"]
    return report
