"""The archive's own metadata rules: what an NWB file needs before it can be published.

They cover what the DANDI Archive requires of an NWB asset (a Subject with subject_id,
species, sex, and age or date_of_birth; a session_start_time with a timezone; an
identifier) and are at least as strict as DANDI's upload validation, so a file that
passes here also uploads to DANDI (a species the archive links but dandi-cli does not
know by name gets a HINT). They use the archive's one vocabulary (metadata/vocabulary.py),
the same one metadata extraction and `nds convert` use, so the three never disagree, and
they read the values straight from HDF5 (nwb/facts.py), so they also run on files pynwb
cannot read.
"""

from __future__ import annotations

from neurodatashare.metadata.vocabulary import match_sex, match_species, parse_age, sex_codes
from neurodatashare.nwb.facts import FileFacts, parse_datetime, read_facts
from neurodatashare.nwb.read import OpenNWB
from neurodatashare.validation.types import Severity, ValidationResult

# Bump when a rule is added, removed or changes what it reports.
RULES_VERSION = "2"

# nwbinspector checks these rules replace (same intent, plus a how-to-fix), so each
# problem is reported once.
REPLACED_INSPECTOR_CHECKS = (
    "check_subject_exists",
    "check_subject_id_exists",
    "check_subject_sex",
    "check_subject_species_exists",
    "check_subject_species_form",
    "check_subject_age",
    "check_subject_proper_age_range",
)

SUBJECT_PATH = "/general/subject"


def _finding(
    check: str,
    message: str,
    how_to_fix: str,
    *,
    severity: Severity = Severity.ERROR,
    object_path: str | None = SUBJECT_PATH,
) -> ValidationResult:
    return ValidationResult(
        severity=severity,
        origin="metadata",
        check=check,
        object_path=object_path,
        message=message,
        how_to_fix=how_to_fix,
    )


def check_metadata(nwb: OpenNWB) -> list[ValidationResult]:
    """Run every metadata rule on an open file."""
    return check_facts(read_facts(nwb.h5))


def check_facts(facts: FileFacts) -> list[ValidationResult]:
    """Run every metadata rule on the values read from a file."""
    out: list[ValidationResult] = []

    if facts.identifier is None:
        out.append(
            _finding(
                "identifier_missing",
                "The file has no identifier."
                if facts.has_identifier
                else "The file has no /identifier dataset, which every NWB file must have.",
                "Set NWBFile(identifier=...) to a unique value, e.g. str(uuid.uuid4()).",
                object_path="/identifier",
            )
        )

    raw = facts.session_start_time
    start = parse_datetime(raw)
    if raw is None or start is None:
        out.append(
            _finding(
                "session_start_time_invalid",
                f"session_start_time ({raw!r}) is not a readable date and time.",
                "Set session_start_time to the start of the recording as a datetime with a "
                "timezone, e.g. datetime(2024, 3, 1, 10, 0, tzinfo=ZoneInfo('Europe/Berlin')).",
                object_path="/session_start_time",
            )
        )
    elif start.tzinfo is None:
        out.append(
            _finding(
                "session_start_time_no_timezone",
                f"session_start_time ({raw}) has no timezone, so it is ambiguous by up to a "
                "day and readers in other places will see different times.",
                "Give session_start_time the timezone of the lab where it was recorded, e.g. "
                "datetime(..., tzinfo=ZoneInfo('America/New_York')); NeuroConv and NWB GUIDE "
                "ask for it as metadata['NWBFile']['session_start_time'].",
                object_path="/session_start_time",
            )
        )

    if facts.subject is None:
        out.append(
            _finding(
                "subject_missing",
                "The file has no Subject, so the archive cannot say who or what was recorded.",
                "Add nwbfile.subject = Subject(subject_id=..., species='Mus musculus', "
                "sex='F', age='P90D') (in NeuroConv: metadata['Subject']).",
            )
        )
        return out
    out.extend(_subject_rules(facts))
    return out


def _subject_rules(facts: FileFacts) -> list[ValidationResult]:
    out: list[ValidationResult] = []
    subject = facts.subject
    assert subject is not None
    subject_id = subject.subject_id
    if subject_id is None:
        out.append(
            _finding(
                "subject_id_missing",
                "The Subject has no subject_id.",
                "Set Subject(subject_id=...) to the animal's or participant's ID in your lab "
                "(no '/'); the archive names files sub-<subject_id>.",
            )
        )
    elif subject_id.startswith("protein"):
        # DANDI's convention for in-vitro protein data: no organism to describe.
        return out

    species_text = subject.species
    species = match_species(species_text)
    if species_text is None:
        out.append(
            _finding(
                "subject_species_missing",
                "The Subject has no species.",
                "Set Subject(species=...) to the Latin name, e.g. 'Mus musculus', or an "
                "NCBI Taxonomy URL such as 'http://purl.obolibrary.org/obo/NCBITaxon_10090'.",
            )
        )
    elif species is None:
        out.append(
            _finding(
                "subject_species_invalid",
                f"The species '{species_text}' is neither a Latin name nor an NCBI Taxonomy URL.",
                "Write the Latin name, e.g. 'Mus musculus', or the NCBI Taxonomy URL, e.g. "
                "'http://purl.obolibrary.org/obo/NCBITaxon_10090'.",
            )
        )
    elif not species.exact:
        out.append(
            _finding(
                "subject_species_form",
                f"The species '{species_text}' is not written the way the archive needs it "
                "(the Latin name or an NCBI Taxonomy URL).",
                f"Write species='{species.suggestion}'.",
            )
        )
    elif species.identifier is None:
        out.append(
            _finding(
                "subject_species_unknown",
                f"The species '{species_text}' is not one the archive can link to NCBI "
                "Taxonomy by name, so searches by species will not find this file.",
                "Write the NCBI Taxonomy URL instead, e.g. "
                "'http://purl.obolibrary.org/obo/NCBITaxon_9669' for Mustela putorius furo "
                "(look it up at https://www.ncbi.nlm.nih.gov/taxonomy).",
                severity=Severity.WARNING,
            )
        )

    elif (
        species.species is not None
        and not species.species.dandi
        and not species_text.lower().startswith("http")
    ):
        out.append(
            _finding(
                "subject_species_not_in_dandi",
                f"The archive links '{species_text}' to NCBI Taxonomy, but the DANDI "
                "Archive's client does not know it by name and would reject the file.",
                "If you also upload to the DANDI Archive, write the NCBI Taxonomy URL: "
                f"species='{species.species.uri}'.",
                severity=Severity.HINT,
            )
        )
    out.extend(_sex_rule(subject.sex, species_text))
    out.extend(_age_rules(subject.age, subject.age_reference, subject.date_of_birth))
    return out


def _sex_rule(sex: str | None, species: str | None) -> list[ValidationResult]:
    allowed = sex_codes(species)
    worm = "XX" in allowed
    if sex is None:
        return [
            _finding(
                "subject_sex_missing",
                "The Subject has no sex.",
                "Set Subject(sex=...) to "
                + ("'XO' (male) or 'XX' (hermaphrodite)." if worm else "'M', 'F', 'U' or 'O'.")
                + ("" if worm else " Use 'U' if it is unknown."),
            )
        ]
    if sex in allowed:
        return []
    known = match_sex(sex)
    hint = ""
    if known is not None and not worm and known[1] in ("Male", "Female", "Unknown", "Other"):
        hint = f" Write sex='{known[1][0]}'."
    codes = (
        "'XO' (male) or 'XX' (hermaphrodite) for C. elegans"
        if worm
        else "'M' (male), 'F' (female), 'U' (unknown) or 'O' (other)"
    )
    return [
        _finding(
            "subject_sex_invalid",
            f"The sex '{sex}' is not one of the codes the archive accepts.",
            f"Use {codes}.{hint}",
        )
    ]


def _age_rules(
    age: str | None, reference: str | None, dob_raw: str | None
) -> list[ValidationResult]:
    if age is None:
        if dob_raw is None:
            return [
                _finding(
                    "subject_age_missing",
                    "The Subject has neither an age nor a date_of_birth.",
                    "Set Subject(age='P90D') (an ISO 8601 duration: P90D = 90 days, P12W = 12 "
                    "weeks, P2Y = 2 years, P2M/P3M = between 2 and 3 months) or "
                    "Subject(date_of_birth=...).",
                )
            ]
        return []
    try:
        parsed = parse_age(age)
    except ValueError as exc:
        return [
            _finding(
                "subject_age_invalid",
                f"The age '{age}' is not valid: {exc}.",
                "Write the age as an ISO 8601 duration: 'P90D' (90 days), 'P12W' (12 weeks), "
                "'P2Y' (2 years), or a range 'P2M/P3M'.",
            )
        ]
    if not parsed.exact:
        gestational = parsed.reference == "Gestational"
        return [
            _finding(
                "subject_age_form",
                f"The age '{age}' is not written as an ISO 8601 duration.",
                f"Write age='{parsed.value}'"
                + (", with Subject(age__reference='gestational')." if gestational else "."),
            )
        ]
    return []
