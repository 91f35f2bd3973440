"""Vocabularies of the search corpus (testing/search_corpus.py): the words, names and
ontology terms real neuroscience datasets carry, with how often each is seen.

Weights are rough shares of what DANDI holds (mice first, then humans, rats, macaques);
brain regions are Allen Mouse Brain Atlas (CCF) acronyms with their full names.

TOPIC words appear only in datasets' own names, descriptions and keywords, never in a
file's metadata, so a test or benchmark knows exactly which datasets a topic word finds.
None is a prefix of another word of the corpus (the index matches query words as
prefixes, the benchmark's peer as substrings).
"""

from __future__ import annotations

#: (NCBITaxon id, Latin name, weight). Names are looked up in metadata/vocabulary.py.
SPECIES = (
    ("10090", "Mus musculus", 55),
    ("9606", "Homo sapiens", 12),
    ("10116", "Rattus norvegicus", 10),
    ("9544", "Macaca mulatta", 6),
    ("7955", "Danio rerio", 4),
    ("7227", "Drosophila melanogaster", 3),
    ("6239", "Caenorhabditis elegans", 2),
    ("9483", "Callithrix jacchus", 2),
    ("9669", "Mustela putorius furo", 1),
    ("59729", "Taeniopygia guttata", 1),
    ("10047", "Meriones unguiculatus", 1),
    ("9541", "Macaca fascicularis", 1),
)

#: Allen CCF (acronym, name); earlier ones are recorded more often (weights fall as 1/rank).
REGIONS = (
    ("CA1", "Field CA1"),
    ("VISp", "Primary visual area"),
    ("MOp", "Primary motor area"),
    ("CA3", "Field CA3"),
    ("DG", "Dentate gyrus"),
    ("SSp-bfd", "Primary somatosensory area, barrel field"),
    ("ACA", "Anterior cingulate area"),
    ("PL", "Prelimbic area"),
    ("ENTm", "Entorhinal area, medial part"),
    ("STR", "Striatum"),
    ("CP", "Caudoputamen"),
    ("TH", "Thalamus"),
    ("LGd", "Dorsal part of the lateral geniculate complex"),
    ("LP", "Lateral posterior nucleus of the thalamus"),
    ("VPM", "Ventral posteromedial nucleus of the thalamus"),
    ("HY", "Hypothalamus"),
    ("SCs", "Superior colliculus, sensory related"),
    ("VTA", "Ventral tegmental area"),
    ("SNc", "Substantia nigra, compact part"),
    ("BLA", "Basolateral amygdalar nucleus"),
    ("CEA", "Central amygdalar nucleus"),
    ("OB", "Main olfactory bulb"),
    ("PIR", "Piriform area"),
    ("AUDp", "Primary auditory area"),
    ("VISl", "Lateral visual area"),
    ("VISam", "Anteromedial visual area"),
    ("RSP", "Retrosplenial area"),
    ("ORB", "Orbital area"),
    ("MOs", "Secondary motor area"),
    ("CB", "Cerebellum"),
    ("MB", "Midbrain"),
    ("PAG", "Periaqueductal gray"),
    ("LHA", "Lateral hypothalamic area"),
    ("NAc", "Nucleus accumbens"),
    ("GPe", "Globus pallidus, external segment"),
    ("ZI", "Zona incerta"),
    ("IC", "Inferior colliculus"),
    ("MEC", "Medial entorhinal cortex"),
    ("SUB", "Subiculum"),
    ("CLA", "Claustrum"),
)

#: Recording kinds of NWB files: approach, techniques, types, device (name, description).
ECEPHYS_DEVICES = (
    ("Neuropixels 1.0", "Neuropixels 1.0 probe, 384 channels"),
    ("Neuropixels 2.0", "Neuropixels 2.0 four-shank probe"),
    ("tetrode drive", "custom tetrode drive"),
    ("H2 probe", "Cambridge NeuroTech silicon probe"),
    ("Utah array", "Blackrock Utah array, 96 channels"),
)
ECEPHYS_TECHNIQUES = (
    "multi electrode extracellular electrophysiology recording technique",
    "spike sorting technique",
    "surgical technique",
    "behavioral technique",
)
OPHYS_DEVICES = (
    ("Bruker 2P", "two-photon resonant scanning microscope"),
    ("Thorlabs Bergamo", "2-photon microscope"),
    ("nVista", "Inscopix miniscope"),
    ("Mesoscope", "two-photon random access mesoscope"),
)
OPHYS_INDICATORS = ("GCaMP6s", "GCaMP6f", "GCaMP7f", "jGCaMP8m", "jRGECO1a")
ICEPHYS_DEVICES = (
    ("MultiClamp 700B", "patch clamp amplifier"),
    ("Axopatch 200B", "patch clamp amplifier"),
)

#: Licences (SPDX) and their shares.
LICENCES = (("spdx:CC-BY-4.0", 80), ("spdx:CC0-1.0", 20))

#: Topics of datasets: each a few words only dataset-level text holds.
TOPICS = (
    "orientation tuning",
    "place remapping",
    "grid modules",
    "heading direction",
    "whisker deflection",
    "decision making",
    "working memory",
    "reward prediction",
    "sleep spindles",
    "sharp wave ripples",
    "locomotion speed",
    "oddball paradigm",
    "odor discrimination",
    "fear conditioning",
    "sensorimotor adaptation",
    "saccade preparation",
    "binocular disparity",
    "theta sequences",
    "dopamine transients",
    "thermoregulation circuits",
    "social recognition",
    "nociception pathways",
    "songbird vocalization",
    "larval swimming",
    "courtship behaviour",
    "chemotaxis navigation",
    "interneuron diversity",
    "dendritic integration",
    "synaptic plasticity",
    "neuromodulation",
    "connectomics",
    "anaesthesia",
    "epileptiform discharges",
    "optogenetic silencing",
    "visuomotor mismatch",
)
TOPIC_WORDS = sorted({w for t in TOPICS for w in t.split()})

STUDY_WORDS = ("Recordings of", "Imaging of", "Population activity during", "A survey of")

#: People (family, given), institutions and funders, for contributors.
FAMILY_NAMES = (
    "Okafor", "Lindqvist", "Tanaka", "Moreau", "Kowalski", "Haddad", "Novak", "Ferreira",
    "Chen", "Ivanova", "Mbeki", "Schneider", "Rossi", "Nakamura", "Gallagher", "Patel",
    "Andersen", "Quispe", "Yilmaz", "Dubois", "Kim", "Sato", "Oyelaran", "Brennan",
)  # fmt: skip
GIVEN_NAMES = (
    "Ada", "Bruno", "Chiara", "Dmitri", "Elif", "Farid", "Greta", "Hiro", "Ines", "Jonas",
    "Kemi", "Lena", "Mateo", "Noor", "Oskar", "Priya", "Rafael", "Sofia", "Tomas", "Yara",
)  # fmt: skip
INSTITUTIONS = (
    "Allen Institute for Brain Science",
    "University College London",
    "Janelia Research Campus",
    "Massachusetts Institute of Technology",
    "Stanford University",
    "Karolinska Institutet",
    "RIKEN Center for Brain Science",
    "Champalimaud Foundation",
    "University of Tokyo",
    "Max Planck Institute for Brain Research",
    "Harvard Medical School",
    "Sainsbury Wellcome Centre",
)
FUNDERS = (
    ("National Institutes of Health", "U19NS"),
    ("Wellcome Trust", "WT"),
    ("European Research Council", "ERC-"),
    ("Simons Foundation", "SCGB-"),
    ("Howard Hughes Medical Institute", "HHMI-"),
)
STRAINS = ("C57BL/6J", "Ai14", "Pvalb-IRES-Cre", "Sst-IRES-Cre", "Thy1-GCaMP6s", "Long-Evans")
GENOTYPES = ("wild type", "Pvalb-Cre;Ai32", "Sst-Cre;Ai14", "Vip-Cre;Ai162", "Rbp4-Cre")
CELL_TYPES = (
    "L2/3 IT", "L4 IT", "L5 ET", "L6 CT", "Pvalb", "Sst", "Vip", "Lamp5", "Sncg",
    "Astrocyte", "Oligodendrocyte", "Microglia", "OPC", "Endothelial",
)  # fmt: skip
MORPHOLOGY_TYPES = ("pyramidal", "basket", "Martinotti", "chandelier", "stellate", "granule")
ION_CHANNELS = ("na", "kdr", "kA", "cal", "hcn", "kca", "nap")
