"""The files of the search corpus (testing/search_corpus.py): for one planned dataset,
each file's path, format, extracted metadata and what search must make of it.

The metadata has the shapes the format plugins write into `Derived(kind="metadata")`
(formats/nwb.py, anndata.py, swc.py, neuroml.py): NWB's `wasAttributedTo` participants,
`approach`, `measurementTechnique`, `variableMeasured` and `nds:summary` (unit, electrode
and ROI counts, brain locations, devices, neurodata types); AnnData's obs columns, roles,
cells and genes; SWC's header; NeuroML's cells and counts. Each file also says, in its
own words, the facet keys it should be found by (`claims`), so a test can check that the
real search code (archive/search_documents.py) reads what was meant.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from neurodatashare.metadata.vocabulary import match_species
from neurodatashare.testing import search_corpus_words as words

NCBITAXON = "http://purl.obolibrary.org/obo/NCBITaxon_"

# NWB parts a file can record: approach, techniques, neurodata types (searchable ones),
# and the device vocabulary (name, description, technique the description names).
ECEPHYS_DEVICES = tuple(
    zip(
        words.ECEPHYS_DEVICES,
        ("neuropixels", "neuropixels", "tetrode", "silicon probe", "utah array"),
        strict=True,
    )
)
OPHYS_DEVICES = tuple(
    zip(
        words.OPHYS_DEVICES,
        ("two-photon microscopy", "two-photon microscopy", "miniscope", "two-photon microscopy"),
        strict=True,
    )
)
PARTS: dict[str, dict[str, Any]] = {
    "ecephys": {
        "approach": "electrophysiological approach",
        "types": ("ElectricalSeries", "ElectrodeGroup", "ElectrodesTable", "Units"),
    },
    "ophys": {
        "approach": "microscopy approach; cell population imaging",
        "techniques": ("two-photon microscopy technique", "analytical technique"),
        "types": (
            "ImagingPlane",
            "OpticalChannel",
            "PlaneSegmentation",
            "RoiResponseSeries",
            "TwoPhotonSeries",
        ),
    },
    "icephys": {
        "approach": "electrophysiological approach",
        "techniques": ("patch clamp technique", "current clamp technique"),
        "types": ("CurrentClampSeries", "IntracellularElectrode", "IntracellularRecordingsTable"),
    },
    "behavior": {
        "approach": "behavioral approach",
        "techniques": ("behavioral technique",),
        "types": ("BehavioralEvents", "Position", "SpatialSeries"),
    },
}
#: Dataset kinds and their shares; each lists the file kinds it holds (with weights).
KINDS: dict[str, tuple[int, tuple[tuple[str, int], ...]]] = {
    "ecephys": (38, (("ecephys", 6), ("behavior+ecephys", 4))),
    "ophys": (20, (("ophys", 5), ("behavior+ophys", 5))),
    "icephys": (8, (("icephys", 1),)),
    "behavior": (5, (("behavior", 1),)),
    "transcriptomics": (9, (("anndata", 1),)),
    "morphology": (10, (("swc", 1),)),
    "model": (4, (("neuroml", 1),)),
    "multiscale": (6, (("icephys", 3), ("swc", 3), ("anndata", 1), ("neuroml", 1))),
}


def weighted(rng: random.Random, items: list[Any] | tuple[Any, ...], weights: Any) -> Any:
    return rng.choices(items, weights=weights)[0]


def zipf_choice(rng: random.Random, items: tuple[Any, ...]) -> Any:
    """Earlier items are commoner (weight 1/rank), as real vocabularies are."""
    return rng.choices(items, weights=[1 / (i + 1) for i in range(len(items))])[0]


@dataclass
class Plan:
    """What one dataset is about; its files draw from it."""

    kind: str
    species: list[str]  # Latin names
    regions: list[tuple[str, str]]  # (acronym, name)
    subjects: int
    lab: str
    institution: str
    strain: str
    genotype: str
    ecephys_device: int
    ophys_device: int
    cell_types: list[str]


@dataclass
class File:
    path: str
    format: str
    size: int
    payload: dict[str, Any]
    claims: dict[str, set[str]] = field(default_factory=dict)  # facet -> keys
    units: int | None = None


def plan(rng: random.Random) -> Plan:
    kinds = list(KINDS)
    kind = weighted(rng, kinds, [KINDS[k][0] for k in kinds])
    latin = [s[1] for s in words.SPECIES]
    chosen = [weighted(rng, latin, [s[2] for s in words.SPECIES])]
    if rng.random() < 0.08:
        second = weighted(rng, latin, [s[2] for s in words.SPECIES])
        chosen += [second] if second not in chosen else []
    regions: list[tuple[str, str]] = []
    for _ in range(rng.choice((1, 1, 2, 2, 3, 4))):
        region = zipf_choice(rng, words.REGIONS)
        if region not in regions:
            regions.append(region)
    return Plan(
        kind=kind,
        species=chosen,
        regions=regions,
        subjects=rng.randint(1, 40),
        lab=f"{rng.choice(words.FAMILY_NAMES)} Lab",
        institution=rng.choice(words.INSTITUTIONS),
        strain=rng.choice(words.STRAINS),
        genotype=rng.choice(words.GENOTYPES),
        ecephys_device=rng.randrange(len(ECEPHYS_DEVICES)),
        ophys_device=rng.randrange(len(OPHYS_DEVICES)),
        cell_types=rng.sample(words.CELL_TYPES, rng.randint(2, 6)),
    )


def _species_entry(latin: str) -> dict[str, Any]:
    match = match_species(latin)
    assert match is not None and match.species is not None, latin
    sp = match.species
    return {"schemaKey": "SpeciesType", "identifier": NCBITAXON + sp.taxon_id, "name": sp.name}


def _participant(rng: random.Random, plan: Plan, subject: str, latin: str) -> dict[str, Any]:
    return {
        "schemaKey": "Participant",
        "identifier": subject,
        "strain": {"schemaKey": "StrainType", "name": plan.strain},
        "age": {
            "schemaKey": "PropertyValue",
            "unitText": "ISO-8601 duration",
            "value": f"P{rng.randint(30, 400)}D",
            "valueReference": {"schemaKey": "PropertyValue", "value": "dandi:BirthReference"},
        },
        "sex": {"schemaKey": "SexType", "name": rng.choice(("Female", "Male"))},
        "genotype": plan.genotype,
        "species": _species_entry(latin),
    }


def _lognormal_int(rng: random.Random, median: float, sigma: float, low: int = 1) -> int:
    return max(low, int(rng.lognormvariate(0, sigma) * median))


def _claims(**facets: Any) -> dict[str, set[str]]:
    return {facet: {str(v).lower() for v in values} for facet, values in facets.items() if values}


def nwb_file(rng: random.Random, plan: Plan, index: int, recorded: str) -> File:
    parts = recorded.split("+")
    subject = f"{plan.kind[:2]}{index % plan.subjects:03d}"
    session = f"{index // plan.subjects + 1:02d}"
    latin = plan.species[index % len(plan.species)]
    locations = [a for a, _n in rng.sample(plan.regions, rng.randint(1, len(plan.regions)))]
    summary: dict[str, Any] = {
        "electrode_count": 0,
        "brain_locations": locations,
        "unit_count": 0,
        "spike_count": 0,
        "roi_count": 0,
        "imaging_planes": [],
        "duration_s": round(rng.lognormvariate(7, 0.8), 1),
        "sampling_rates": {},
        "neurodata_types": {"Device": 1, "Subject": 1, "ProcessingModule": 1},
        "devices": [],
        "institution": plan.institution,
        "lab": plan.lab,
        "external_links": [],
        "notes": [],
    }
    approaches: list[str] = []
    techniques: list[str] = ["surgical technique"]
    types: list[str] = []
    claimed_techniques: list[str] = []
    for part in parts:
        spec = PARTS[part]
        approaches += [spec["approach"]] if spec["approach"] not in approaches else []
        techniques += list(spec.get("techniques", ()))
        types += list(spec["types"])
        summary["neurodata_types"].update(dict.fromkeys(spec["types"], 1))
    if "ecephys" in parts:
        (name, description), technique = ECEPHYS_DEVICES[plan.ecephys_device]
        summary["devices"].append({"name": name, "description": description})
        claimed_techniques.append(technique)
        techniques += words.ECEPHYS_TECHNIQUES[: rng.randint(1, 3)]
        electrodes = 384 if "Neuropixels" in name else rng.choice((4, 16, 32, 64, 96, 128))
        summary["electrode_count"] = electrodes
        summary["unit_count"] = _lognormal_int(rng, electrodes / 3 + 5, 0.9)
        summary["spike_count"] = summary["unit_count"] * rng.randint(500, 20_000)
        summary["sampling_rates"]["ElectricalSeries"] = 30000.0
    if "ophys" in parts:
        (name, description), technique = OPHYS_DEVICES[plan.ophys_device]
        summary["devices"].append({"name": name, "description": description})
        claimed_techniques.append(technique)
        summary["roi_count"] = _lognormal_int(rng, 250, 1.0)
        summary["imaging_planes"] = [f"ImagingPlane{p}" for p in range(rng.randint(1, 3))]
        summary["sampling_rates"]["TwoPhotonSeries"] = rng.choice((15.0, 30.0, 9.5))
        summary["indicator"] = rng.choice(words.OPHYS_INDICATORS)
    if "icephys" in parts:
        name, description = words.ICEPHYS_DEVICES[index % len(words.ICEPHYS_DEVICES)]
        summary["devices"].append({"name": name, "description": description})
        summary["cell_ids"] = [f"cell-{subject}-{index:05d}"]
        summary["sampling_rates"]["CurrentClampSeries"] = 50000.0
    if "behavior" in parts:
        summary["sampling_rates"]["position"] = 50.0
    payload = {
        "schemaKey": "BareAsset",
        "schemaVersion": "0.8.0",
        "encodingFormat": "application/x-nwb",
        "wasAttributedTo": [_participant(rng, plan, subject, latin)],
        "wasGeneratedBy": [
            {
                "schemaKey": "Session",
                "identifier": f"ses-{session}",
                "name": f"ses-{session}",
                "description": f"{' and '.join(parts)} session {session} of {subject}",
                "startDate": f"20{rng.randint(18, 25)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
            }
        ],
        "approach": [{"schemaKey": "ApproachType", "name": a} for a in approaches],
        "measurementTechnique": [
            {"schemaKey": "MeasurementTechniqueType", "name": t} for t in dict.fromkeys(techniques)
        ],
        "variableMeasured": [{"schemaKey": "PropertyValue", "value": t} for t in sorted(types)],
        "nds:summary": summary,
    }
    units = summary["unit_count"] or None
    return File(
        path=f"sub-{subject}/sub-{subject}_ses-{session}_{recorded}.nwb",
        format="nwb",
        size=_lognormal_int(rng, 2e9 if "ophys" in parts else 6e8, 1.2, low=10_000),
        payload=payload,
        claims=_claims(
            species=[latin],
            region=locations,
            approach=approaches,
            technique=[*techniques, *claimed_techniques],
            neurodata_type=types,
            format=["nwb"],
            modality=parts,
        ),
        units=units,
    )


def anndata_file(rng: random.Random, plan: Plan, index: int) -> File:
    latin = plan.species[index % len(plan.species)]
    cells = _lognormal_int(rng, 8_000, 1.3, low=50)
    genes = rng.choice((2_000, 5_000, 19_000, 31_053, 36_601))
    types = rng.sample(plan.cell_types, rng.randint(1, len(plan.cell_types)))
    regions = [a for a, _n in plan.regions]
    donors = [f"donor-{index:04d}-{d}" for d in range(rng.randint(1, 4))]
    summary = {
        "cells": cells,
        "genes": genes,
        "X": {"storage": "csr", "nnz": cells * genes // 20, "dtype": "float32"},
        "layers": {},
        "obsm": {"X_umap": [2]},
        "obsp": [],
        "raw": False,
        "obs_columns": {
            "cell_type": {
                "dtype": "category",
                "n_categories": len(types),
                "categories": {t: cells // len(types) for t in types},
            },
            "brain_region": {
                "dtype": "category",
                "n_categories": len(regions),
                "categories": {r: cells // len(regions) for r in regions},
            },
            "donor_id": {"dtype": "category", "n_categories": len(donors)},
        },
        "obs_columns_total": 3,
        "var_columns": ["gene_symbols"],
        "roles": {"cell_type": "cell_type", "region": "brain_region", "subject": "donor_id"},
        "species": [_species_entry(latin)["name"]],
        "regions": regions,
        "obs_names_sample": [f"{donors[0]}-cell{c}" for c in range(3)],
        "subjects": len(donors),
        "subject_ids": donors,
    }
    payload = {
        "schemaKey": "BareAsset",
        "encodingFormat": "application/x-hdf5",
        "nds:summary": summary,
        "wasAttributedTo": [
            {"schemaKey": "Participant", "identifier": d, "species": _species_entry(latin)}
            for d in donors
        ],
        "about": [{"schemaKey": "Anatomy", "name": r} for r in regions],
    }
    return File(
        path=f"derivatives/expression/batch-{index:04d}_{plan.kind}.h5ad",
        format="anndata",
        size=_lognormal_int(rng, cells * 4_000, 0.5, low=10_000),
        payload=payload,
        claims=_claims(
            species=[latin],
            region=regions,
            format=["anndata"],
            modality=["transcriptomics"],
            cell_type=types,
        ),
    )


def swc_file(rng: random.Random, plan: Plan, index: int) -> File:
    latin = plan.species[index % len(plan.species)]
    creature = latin if rng.random() < 0.7 else _species_entry(latin)["name"]
    acronym, region = rng.choice(plan.regions)
    region_label = region if rng.random() < 0.6 else acronym
    shape = rng.choice(words.MORPHOLOGY_TYPES)
    subject = f"{plan.kind[:2]}{index % plan.subjects:03d}"
    cell = f"cell-{subject}-{index:05d}"
    points = _lognormal_int(rng, 3_000, 0.8, low=20)
    summary = {
        "dialect": "swc",
        "strict_parse": True,
        "points": points,
        "soma": "single point",
        "labels": {"soma": 1, "axon": points // 2, "basal_dendrite": points - points // 2 - 1},
        "units": "µm",
        "trees": 1 + points // 4_000,
        "header": {"creature": creature, "region": region_label, "cell_id": cell, "class": shape},
        "morphometrics": {
            "total_length": round(points * rng.uniform(1.5, 4.0), 3),
            "sections": points // 40 + 1,
            "bifurcations": points // 80,
            "tips": points // 80 + 1,
            "max_branch_order": rng.randint(2, 30),
        },
        "morphometrics_by": "neurom 4.0.6 definitions",
    }
    return File(
        path=f"sub-{subject}/sub-{subject}_{cell}_morphology.swc",
        format="swc",
        size=points * 40,
        payload={"schemaKey": "BareAsset", "encodingFormat": "text/x-swc", "nds:summary": summary},
        claims=_claims(
            species=[latin],
            region=[region_label],
            format=["swc"],
            modality=["morphology"],
            cell_type=[shape],
        ),
    )


def neuroml_file(rng: random.Random, plan: Plan, index: int) -> File:
    shape = rng.choice(words.MORPHOLOGY_TYPES)
    channels = rng.sample(words.ION_CHANNELS, rng.randint(1, 5))
    n_cells = rng.choice((1, 1, 1, 2, 5))
    cells = [
        {
            "id": f"{shape}{index:04d}_{c}",
            "type": "cell",
            "morphology": True,
            "segments": rng.randint(2, 800),
            "segment_groups": rng.randint(1, 40),
            "ion_channels": channels,
        }
        for c in range(n_cells)
    ]
    summary = {
        "cells": cells,
        "ion_channels": [{"id": ch, "type": "ionChannelHH", "gates": 2} for ch in channels],
        "synapses": [],
        "networks": [],
        "counts": {"cells": n_cells, "ion_channels": len(channels), "synapses": 0, "networks": 0},
        "includes": [],
        "notes": None,
        "schema": "NeuroML_v2.3.1.xsd",
        "id": f"model{index:04d}",
    }
    payload = {
        "schemaKey": "BareAsset",
        "encodingFormat": "application/xml",
        "nds:summary": summary,
    }
    return File(
        path=f"models/{shape}_{index:05d}.cell.nml",
        format="neuroml",
        size=_lognormal_int(rng, 40_000, 1.0, low=500),
        payload=payload,
        claims=_claims(format=["neuroml"], modality=["model"]),
    )


def make_file(rng: random.Random, plan: Plan, index: int) -> File:
    """The dataset's `index`-th file."""
    kinds = KINDS[plan.kind][1]
    kind = weighted(rng, [k for k, _w in kinds], [w for _k, w in kinds])
    if kind == "anndata":
        return anndata_file(rng, plan, index)
    if kind == "swc":
        return swc_file(rng, plan, index)
    if kind == "neuroml":
        return neuroml_file(rng, plan, index)
    return nwb_file(rng, plan, index, kind)
