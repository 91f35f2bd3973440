"""One vocabulary: whatever `nds convert` accepts, the archive's rules accept and the
extractor links (metadata/vocabulary.py, used by all three)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from dandi.metadata import util as dandi_util

from neurodatashare.cli.cmd_convert import command as convert_command
from neurodatashare.metadata import vocabulary as vocab
from neurodatashare.nwb.convert.metadata import MetadataError, parse_metadata
from neurodatashare.nwb.extract import _participant, extract_asset_metadata
from neurodatashare.nwb.facts import FileFacts, SubjectFacts
from neurodatashare.testing import sources
from neurodatashare.validation import blocks_publishing, validate_nwb_file
from neurodatashare.validation.rules import check_facts
from neurodatashare.validation.types import Severity

START = "2024-03-04T10:15:00+01:00"


def _facts(subject: Any) -> FileFacts:
    """The values `nds convert` writes, as the archive reads them back from the file."""
    return FileFacts(
        identifier="x",
        has_identifier=True,
        session_description="d",
        session_start_time=START,
        session_id="s1",
        institution=None,
        lab=None,
        keywords=[],
        related_publications=[],
        subject=SubjectFacts(
            subject_id=subject.subject_id,
            species=subject.species,
            sex=subject.sex,
            age=subject.age,
            age_reference=subject.age_reference,
            date_of_birth=None,
            genotype=None,
            strain=None,
        ),
    )


def _blocking(facts: FileFacts) -> list[str]:
    return [r.check for r in check_facts(facts) if r.severity >= Severity.WARNING]


def _convert(**subject: Any) -> Any:
    base = {"subject_id": "a1", "species": "mouse", "sex": "female", "age": "90 days"}
    return parse_metadata({"subject": {**base, **subject}}).subject


WORDS = sorted(
    {w for s in vocab.SPECIES for w in (s.scientific, s.common, *s.synonyms)}
    | {f"NCBITaxon:{s.taxon_id}" for s in vocab.SPECIES}
)


def test_table_size_and_unique_ids() -> None:
    ids = [s.taxon_id for s in vocab.SPECIES]
    assert len(ids) == len(set(ids)) == 24
    assert len({s.scientific for s in vocab.SPECIES}) == 24


@pytest.mark.parametrize("word", WORDS)
def test_every_species_word_the_converter_takes_is_linked_by_the_archive(word: str) -> None:
    subject = _convert(species=word, sex="xx" if vocab.is_c_elegans(word) else "unknown")
    facts = _facts(subject)
    assert _blocking(facts) == [], (word, subject.species, check_facts(facts))
    participant = _participant(facts, None)
    assert participant is not None
    assert participant["species"]["identifier"].startswith(vocab.NCBITAXON), word


@pytest.mark.parametrize(
    "word", ["ferret", "cat", "pig", "guinea pig", "zebra finch", "rhesus", "cynomolgus"]
)
def test_species_from_the_issue_keep_their_taxon(word: str) -> None:
    species = _convert(species=word).species
    found = vocab.match_species(species)
    assert found is not None and found.exact and found.identifier is not None


@pytest.mark.parametrize("entry", [s for s in vocab.SPECIES if s.dandi], ids=lambda s: s.scientific)
def test_species_dandi_knows_match_dandi(entry: vocab.Species) -> None:
    theirs = dandi_util.extract_species({"species": entry.scientific})
    assert (str(theirs.identifier), theirs.name) == (entry.uri, entry.name)


def test_species_dandi_does_not_know_get_a_hint() -> None:
    cat = _facts(_convert(species="cat"))
    (hint,) = check_facts(cat)
    assert (hint.check, hint.severity) == ("subject_species_not_in_dandi", Severity.HINT)
    assert "NCBITaxon_9685" in (hint.how_to_fix or "")
    assert not blocks_publishing([hint])


@pytest.mark.parametrize(
    ("species", "words"),
    [
        ("mouse", ["male", "Female", "M", "f", "unknown", "unspecified", "U", "other", "O"]),
        ("C. elegans", ["male", "hermaphrodite", "XX", "xo"]),
    ],
)
def test_every_sex_word_the_converter_takes_passes_the_rules(
    species: str, words: list[str]
) -> None:
    for word in words:
        facts = _facts(_convert(species=species, sex=word))
        assert _blocking(facts) == [], (species, word, check_facts(facts))
        participant = _participant(facts, None)
        assert participant is not None and participant["sex"]["name"], word


def test_sexes_the_archive_would_reject_are_refused_by_the_converter() -> None:
    for species, word in (("mouse", "hermaphrodite"), ("C. elegans", "female")):
        with pytest.raises(MetadataError, match=r"subject\.sex"):
            _convert(species=species, sex=word)


AGES = [
    "P90D",
    "90 days",
    "12 weeks",
    "3 months",
    "1 year 2 months",
    "90d",
    "2 years 3 months",
    "3 months, 2 weeks",
    "1.5 days",
    "36 hours",
    "P90D/P120D",
    "P90D/",
    "gestational week 15",
    "gestational 20 days",
]


@pytest.mark.parametrize("age", AGES)
def test_every_age_the_converter_takes_passes_the_rules_and_is_extracted(age: str) -> None:
    subject = _convert(age=age)
    facts = _facts(subject)
    assert _blocking(facts) == [], (age, subject.age, check_facts(facts))
    participant = _participant(facts, None)
    assert participant is not None
    value = participant["age"]
    assert value["value"] == subject.age
    reference = value["valueReference"]["value"]
    gestational = age.startswith("gestational")
    assert reference == ("dandi:GestationalReference" if gestational else "dandi:BirthReference")
    if age in ("gestational week 15", "12 weeks", "P90D"):
        their_value, their_ref = dandi_util.parse_age(age)
        assert (subject.age, "Gestational" if gestational else "Birth") == (their_value, their_ref)


def test_ferret_converts_to_a_file_the_archive_publishes(tmp_path: Path) -> None:
    """`nds convert` says "ready to upload" from the archive's own validation."""
    source = tmp_path / "signal.csv"
    sources.write_timeseries_csv(source)
    meta = {
        "subject": {"subject_id": "f1", "species": "ferret", "sex": "male", "age": "P20W"},
        "session": {"session_start_time": START, "description": "ferret V1"},
        "timeseries": {"rate": 100.0, "unit": "volts"},
    }
    (tmp_path / "meta.yaml").write_text(yaml.safe_dump(meta))
    out = tmp_path / "ferret.nwb"
    args = ["--format", "timeseries", "--source", str(source)]
    args += ["--metadata", str(tmp_path / "meta.yaml"), "--out", str(out)]
    result = CliRunner().invoke(convert_command, args)
    assert result.exit_code == 0, result.output
    assert "as the archive runs it" in result.output and "ready to upload" in result.output
    findings = validate_nwb_file(out)
    assert not blocks_publishing(findings), findings
    species = extract_asset_metadata(out)["wasAttributedTo"][0]["species"]
    assert species == {
        "schemaKey": "SpeciesType",
        "identifier": "http://purl.obolibrary.org/obo/NCBITaxon_9669",
        "name": "Mustela putorius furo - Domestic ferret",
    }
