"""The search corpus generator (testing/search_corpus.py) at small scale, on both
databases: search's answers equal brute force over the generator's ground truth, the
files' metadata gives the facets the generator claims (read by the real search code),
and the same seed gives the same archive."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from neurodatashare.archive import Archive
from neurodatashare.archive.merged_meta import merged_metadata
from neurodatashare.archive.search import SearchParams, search
from neurodatashare.archive.search_documents import asset_document
from neurodatashare.config import Settings
from neurodatashare.db.models import (
    Asset,
    Derived,
    SearchDataset,
    SearchTerm,
    SearchValue,
    User,
    Version,
    VersionAsset,
)
from neurodatashare.testing.live import database_url
from neurodatashare.testing.search_corpus import Corpus, DatasetTruth, build_index, fill

DATASETS, ASSETS, SEED = 60, 3_000, 7


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def filled(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Archive, Corpus]]:
    home = tmp_path_factory.mktemp(f"corpus-{request.param}")
    url, pg = database_url(request.param, home)
    archive = Archive.open(Settings(home=home, database_url=url))
    try:
        corpus = fill(archive.db, datasets=DATASETS, assets=ASSETS, seed=SEED)
        report = build_index(archive.db, corpus)
        assert report["datasets"] == DATASETS and report["assets"] == ASSETS
        yield archive, corpus
    finally:
        archive.close()
        if pg is not None:
            pg.drop()


def _today() -> Any:
    return datetime.now(UTC).date()


def _search(archive: Archive, user: User | None = None, **params: Any) -> dict[str, Any]:
    items = [(k, str(v)) for k, v in params.items()] + [("page_size", "100")]
    return search(archive, user=user, params=SearchParams.from_query(items))


def _ids(body: dict[str, Any]) -> set[int]:
    assert body["count"] == len(body["results"]), "one page holds every answer here"
    return {int(r["identifier"]) for r in body["results"]}


def _visible(corpus: Corpus, username: str | None = None) -> list[DatasetTruth]:
    return [d for d in corpus.datasets if d.visible_to(username, _today())]


def _user(archive: Archive, username: str) -> User:
    with archive.db.read() as s:
        return s.scalars(select(User).where(User.username == username)).one()


def test_the_corpus_is_varied(filled: tuple[Archive, Corpus]) -> None:
    _archive, corpus = filled
    assert len(corpus.datasets) == DATASETS and corpus.assets == ASSETS
    assert sum(d.assets for d in corpus.datasets) == ASSETS
    sizes = sorted(d.assets for d in corpus.datasets)
    assert sizes[0] >= 1 and sizes[-1] > 5 * sizes[len(sizes) // 2]  # skewed, as archives are
    assert {d.access for d in corpus.datasets} == {"open", "private", "embargoed"}
    facets = {f: set().union(*(d.facets.get(f, set()) for d in corpus.datasets)) for f in (
        "species", "region", "format", "modality", "technique")}  # fmt: skip
    assert len(facets["species"]) >= 4 and len(facets["region"]) >= 10
    assert facets["format"] == {"nwb", "anndata", "swc", "neuroml"}
    assert {"ecephys", "ophys", "behavior", "transcriptomics", "morphology"} <= facets["modality"]
    assert "neuropixels" in facets["technique"]


def test_species_facet_counts_equal_brute_force(filled: tuple[Archive, Corpus]) -> None:
    archive, corpus = filled
    visible = _visible(corpus)
    body = _search(archive)
    assert body["count"] == len(visible)
    expected: dict[str, int] = {}
    for d in visible:
        for key in d.facets.get("species", ()):
            expected[key] = expected.get(key, 0) + 1
    assert {v["value"]: v["count"] for v in body["facets"]["species"]} == expected
    for key in expected:
        wanted = {d.id for d in visible if key in d.facets.get("species", ())}
        assert _ids(_search(archive, species=key)) == wanted


def test_region_and_units_min_equal_brute_force(filled: tuple[Archive, Corpus]) -> None:
    archive, corpus = filled
    visible = _visible(corpus)
    recorded = [d for d in visible if d.units and d.facets.get("region")]
    answers = []
    for chosen in random.Random(0).sample(recorded, min(8, len(recorded))):
        region = sorted(chosen.facets["region"])[0]
        for low in (min(chosen.units), max(chosen.units), max(chosen.units) + 1):
            wanted = {
                d.id
                for d in visible
                if region in d.facets.get("region", ()) and any(u >= low for u in d.units)
            }
            assert _ids(_search(archive, region=region, units_min=low)) == wanted
            answers.append(len(wanted))
    assert len(answers) >= 12 and min(answers) < max(answers)


def test_a_text_word_finds_the_datasets_that_hold_it(filled: tuple[Archive, Corpus]) -> None:
    archive, corpus = filled
    visible = _visible(corpus)
    held = sorted({w for d in visible for w in d.words})
    assert len(held) >= 10
    for word in held:
        assert _ids(_search(archive, q=word)) == {d.id for d in visible if word in d.words}, word
    two = next(iter(d for d in visible if len(d.words) >= 2)).words
    first, second = sorted(two)[:2]
    both = {d.id for d in visible if {first, second} <= d.words}
    assert _ids(_search(archive, q=f"{first} {second}")) == both


def test_hidden_datasets_are_absent_except_for_their_owners(
    filled: tuple[Archive, Corpus],
) -> None:
    archive, corpus = filled
    hidden = [d for d in corpus.datasets if d.effective_access(_today()) != "open"]
    assert {d.access for d in hidden} == {"private", "embargoed"}
    everyone = _ids(_search(archive))
    for d in hidden:
        assert d.id not in everyone
        owner = _user(archive, d.owners[0])
        stranger = _user(archive, next(u for u in corpus.users if u not in d.owners))
        for word in d.words:
            assert d.id not in _ids(_search(archive, q=word))
            assert d.id in _ids(_search(archive, owner, q=word))
            assert d.id not in _ids(_search(archive, stranger, q=word))
    for username in corpus.users[:5]:
        seen = _ids(_search(archive, _user(archive, username)))
        assert seen == {d.id for d in _visible(corpus, username)}


def test_files_give_the_facets_the_generator_claims(filled: tuple[Archive, Corpus]) -> None:
    """The real search code, reading the stored metadata, finds exactly the claimed
    facets and counts; so does the index it built."""
    archive, corpus = filled
    with archive.db.read() as s:
        for d in corpus.datasets:
            assets = list(
                s.scalars(
                    select(Asset)
                    .join(VersionAsset, VersionAsset.asset_id == Asset.id)
                    .join(Version, Version.id == VersionAsset.version_id)
                    .where(Version.dataset_id == d.id)
                )
            )
            found: dict[str, set[str]] = {"licence": d.facets["licence"]}
            units = []
            for asset, (fmt, meta) in zip(assets, merged_metadata(s, assets), strict=True):
                doc = asset_document(meta, path=asset.path, fmt=fmt)
                for facet, key, _label in doc.terms:
                    found.setdefault(facet, set()).add(key)
                units += [doc.counts["units"]] if doc.counts["units"] else []
            assert found == d.facets, d.id
            assert sorted(units) == sorted(d.units)
            indexed: dict[str, set[str]] = {}
            for facet, key in s.execute(
                select(SearchValue.facet, SearchValue.key)
                .join(SearchTerm, SearchTerm.value_id == SearchValue.id)
                .where(SearchTerm.dataset_id == d.id)
            ):
                indexed.setdefault(facet, set()).add(key)
            assert indexed == d.facets
            row = s.get(SearchDataset, d.id)
            assert row is not None and row.asset_count == d.assets


def _dump(archive: Archive) -> list[Any]:
    with archive.db.read() as s:
        return [
            s.execute(select(Version.dataset_id, Version.name, Version.meta)).all(),
            s.execute(select(Asset.id, Asset.path, Asset.blob_id).order_by(Asset.id)).all(),
            s.execute(select(Derived.blob_id, Derived.payload).order_by(Derived.blob_id)).all(),
        ]


def test_the_same_seed_gives_the_same_archive(tmp_path: Path) -> None:
    dumps = []
    for run, seed in enumerate((3, 3, 4)):
        home = tmp_path / str(run)
        archive = Archive.open(Settings(home=home, database_url=database_url("sqlite", home)[0]))
        try:
            corpus = fill(archive.db, datasets=12, assets=400, seed=seed)
            dumps.append((_dump(archive), [(d.id, d.access, d.facets) for d in corpus.datasets]))
        finally:
            archive.close()
    assert dumps[0] == dumps[1]
    assert dumps[0][0][1] != dumps[2][0][1] and dumps[0][1] != dumps[2][1]
