"""The one vocabulary for who was recorded: species, sex and age words.

`nds convert` (nwb/convert/metadata.py), metadata extraction (nwb/extract.py) and the
publishing rules (validation/rules.py) all read these tables and functions, so a value
the converter writes is one the archive accepts and links to NCBI Taxonomy.

It is written here rather than taken from dandi-cli's `dandi.metadata.util` because the
archive must not depend on the upload client at run time and needs more than it offers:
a verdict on whether a value is already in the required form, and the form to write
instead. The entries DANDI knows (`dandi=True`) carry DANDI's own display names; a test
checks them against dandi-cli's table.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

NCBITAXON = "http://purl.obolibrary.org/obo/NCBITaxon_"
PATO = "http://purl.obolibrary.org/obo/PATO_"

# --------------------------------------------------------------------------- species


@dataclass(frozen=True)
class Species:
    taxon_id: str
    scientific: str  # "Mus musculus"
    common: str  # GenBank common name, as DANDI displays it: "House mouse"
    synonyms: tuple[str, ...] = ()  # other everyday names, lower case
    dandi: bool = False  # dandi-cli recognises the Latin name (else: write the URL there)

    @property
    def uri(self) -> str:
        return NCBITAXON + self.taxon_id

    @property
    def name(self) -> str:
        # DANDI's display form, so summaries and searches line up with DANDI's.
        return f"{self.scientific} - {self.common}"


SPECIES: tuple[Species, ...] = (
    Species(
        "10090",
        "Mus musculus",
        "House mouse",
        ("mouse", "mice", "lab mouse", "laboratory mouse"),
        dandi=True,
    ),
    Species("9606", "Homo sapiens", "Human", ("human", "humans", "person", "patient"), dandi=True),
    Species(
        "10116",
        "Rattus norvegicus",
        "Norway rat",
        ("rat", "rats", "brown rat", "lab rat"),
        dandi=True,
    ),
    Species("10117", "Rattus rattus", "Black rat", dandi=True),
    Species(
        "9544",
        "Macaca mulatta",
        "Rhesus monkey",
        ("rhesus", "rhesus macaque", "macaque"),
        dandi=True,
    ),
    Species(
        "9541",
        "Macaca fascicularis",
        "Crab-eating macaque",
        ("cynomolgus", "cynomolgus monkey", "cynomolgus macaque", "long-tailed macaque"),
    ),
    Species(
        "9545",
        "Macaca nemestrina",
        "Pig-tailed macaque",
        ("pigtail macaque", "pigtail monkey"),
        dandi=True,
    ),
    Species("9548", "Macaca radiata", "Bonnet macaque", ("bonnet monkey",), dandi=True),
    Species("9483", "Callithrix jacchus", "Common marmoset", ("marmoset",), dandi=True),
    Species(
        "7227",
        "Drosophila melanogaster",
        "Fruit fly",
        ("fruitfly", "drosophila", "fly"),
        dandi=True,
    ),
    Species("7955", "Danio rerio", "Zebra fish", ("zebrafish",), dandi=True),
    Species(
        "6239",
        "Caenorhabditis elegans",
        "Roundworm",
        ("c. elegans", "c elegans", "nematode", "worm"),
        dandi=True,
    ),
    Species("10047", "Meriones unguiculatus", "Mongolian gerbil", ("gerbil",), dandi=True),
    Species("30207", "Polistes fuscatus", "Common paper wasp", dandi=True),
    Species("59729", "Taeniopygia guttata", "Zebra finch"),
    Species("9669", "Mustela putorius furo", "Domestic ferret", ("ferret",)),
    Species("9685", "Felis catus", "Domestic cat", ("cat",)),
    Species("9823", "Sus scrofa", "Pig", ("swine", "domestic pig")),
    Species("10042", "Peromyscus maniculatus", "North American deer mouse", ("deer mouse",)),
    Species("8355", "Xenopus laevis", "African clawed frog", ("xenopus",)),
    Species("9986", "Oryctolagus cuniculus", "Rabbit", ("european rabbit",)),
    Species("10141", "Cavia porcellus", "Domestic guinea pig", ("guinea pig",)),
    Species("9031", "Gallus gallus", "Chicken"),
    Species("7460", "Apis mellifera", "Honey bee", ("honeybee",)),
)

_BY_WORD: dict[str, Species] = {}
for _s in SPECIES:
    for _word in (_s.scientific.lower(), _s.name.lower(), _s.common.lower(), *_s.synonyms):
        _BY_WORD.setdefault(_word, _s)
_BY_TAXON = {s.taxon_id: s for s in SPECIES}

# A Latin binomial, or a trinomial for a subspecies ("Mustela putorius furo").
LATIN_NAME_RE = re.compile(r"[A-Z][a-z]+ [a-z]+(?: [a-z]+)?")
NCBITAXON_URL_RE = re.compile(r"https?://purl\.obolibrary\.org/obo/NCBITaxon_(\d+)/?", re.I)
_TAXON_ID_RE = re.compile(r"(?:ncbitaxon[:_ ]|taxon:?)\s*(\d+)", re.I)


@dataclass(frozen=True)
class SpeciesMatch:
    identifier: str | None  # NCBITaxon URL when known
    name: str | None  # DANDI display name ("Mus musculus - House mouse"), or the text
    exact: bool  # written the way DANDI requires: Latin name or NCBITaxon URL
    suggestion: str | None = None  # what to write instead, when not exact
    species: Species | None = None  # the table entry, when there is one


def _hit(s: Species, *, exact: bool) -> SpeciesMatch:
    return SpeciesMatch(s.uri, s.name, exact, None if exact else s.scientific, s)


def match_species(value: str | None) -> SpeciesMatch | None:
    """Interpret a species value; None when it cannot be interpreted at all."""
    if not value or not value.strip():
        return None
    text = " ".join(value.split())
    if m := NCBITAXON_URL_RE.fullmatch(text):
        known = _BY_TAXON.get(m.group(1))
        if known is not None:
            return _hit(known, exact=True)
        # Unknown taxa keep their URL; looking the name up would need the network.
        return SpeciesMatch(NCBITAXON + m.group(1), None, exact=True)
    if m := _TAXON_ID_RE.fullmatch(text):
        known = _BY_TAXON.get(m.group(1))
        if known is not None:
            return _hit(known, exact=False)
        url = NCBITAXON + m.group(1)
        return SpeciesMatch(url, None, exact=False, suggestion=url)
    for s in SPECIES:
        if text == s.scientific:
            return _hit(s, exact=True)
    if (word := _BY_WORD.get(text.lower())) is not None:
        return _hit(word, exact=False)
    if LATIN_NAME_RE.fullmatch(text):
        return SpeciesMatch(None, text, exact=True)
    return None


def species_to_write(value: str) -> str:
    """What to store as Subject.species for a value a scientist typed; ValueError if none.

    >>> species_to_write("house mouse"), species_to_write("NCBITaxon:10116")
    ('Mus musculus', 'Rattus norvegicus')
    """
    found = match_species(value)
    if found is not None:
        if found.exact:
            text = " ".join(value.split())
            return found.species.scientific if found.species else text
        assert found.suggestion is not None
        return found.suggestion
    if not value or not value.strip():
        raise ValueError("is empty")
    close = difflib.get_close_matches(value.strip().lower(), list(_BY_WORD), n=1, cutoff=0.75)
    hint = f" Did you mean '{_BY_WORD[close[0]].scientific}'?" if close else ""
    raise ValueError(
        f"'{value}' is not a species name I recognise.{hint} Use a Latin name such as "
        "'Mus musculus', a common name such as 'mouse', 'rat' or 'human', or an NCBI "
        "taxonomy id such as 'NCBITaxon:10090'."
    )


def is_c_elegans(species: str | None) -> bool:
    found = match_species(species)
    return bool(found and found.identifier == NCBITAXON + "6239")


# ------------------------------------------------------------------------------- sex

# code -> (PATO URL or None, DANDI's display name)
SEX: dict[str, tuple[str | None, str]] = {
    "M": (PATO + "0000384", "Male"),
    "F": (PATO + "0000383", "Female"),
    "U": (None, "Unknown"),
    "O": (None, "Other"),
    # C. elegans convention (NWB best practice): XO male, XX hermaphrodite.
    "XO": (PATO + "0000384", "Male"),
    "XX": (PATO + "0001340", "Hermaphrodite"),
}
SEX_CODES = ("M", "F", "U", "O")
C_ELEGANS_SEX_CODES = ("XO", "XX")
_SEX_WORDS = {
    "m": "M",
    "male": "M",
    "f": "F",
    "female": "F",
    "u": "U",
    "unknown": "U",
    "unspecified": "U",
    "o": "O",
    "other": "O",
    "xo": "XO",
    "xx": "XX",
    "hermaphrodite": "XX",
}


def sex_codes(species: str | None) -> tuple[str, ...]:
    """The codes the archive accepts as Subject.sex for a species."""
    return C_ELEGANS_SEX_CODES if is_c_elegans(species) else SEX_CODES


def sex_code(value: str | None) -> str | None:
    """The code a sex word stands for ('female' -> 'F'), or None if it is not one."""
    if not value or not value.strip():
        return None
    return _SEX_WORDS.get(value.strip().lower())


def match_sex(value: str | None) -> tuple[str | None, str | None] | None:
    """(PATO URL or None, display name) for a Subject.sex value, or None if unknown."""
    if not value or not value.strip():
        return None
    text = value.strip()
    if text.lower().startswith("http"):
        return (text, None)
    code = sex_code(text)
    return SEX[code] if code else None


def sex_to_write(value: str, *, species: str | None = None) -> str:
    """The code to store as Subject.sex for a word a scientist typed; ValueError if none."""
    code = sex_code(str(value))
    if is_c_elegans(species):
        code = {"M": "XO"}.get(code or "", code)
        if code in C_ELEGANS_SEX_CODES:
            return code
        raise ValueError(
            f"'{value}' is not a sex for C. elegans: write male (XO) or hermaphrodite (XX)."
        )
    if code in SEX_CODES:
        return code
    raise ValueError(f"'{value}' is not one of male, female, unknown, other (or M, F, U, O).")


# ------------------------------------------------------------------------------- age

_ISO_DURATION_RE = re.compile(
    r"P(?!$)(?:(\d+(?:[.,]\d+)?)Y)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)W)?"
    r"(?:(\d+(?:[.,]\d+)?)D)?(?:T(?=\d)(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?"
    r"(?:(\d+(?:[.,]\d+)?)S)?)?",
    re.I,
)
# Approximate unit lengths, only used to check that a range increases.
_UNIT_SECONDS = (365.25 * 86400, 30.44 * 86400, 7 * 86400, 86400, 3600, 60, 1)
_FREE_UNITS = (
    ("Y", r"y(?:ears?|rs?)?"),
    ("M", r"mo(?:nths?|ns?)?|mos"),
    ("W", r"w(?:eeks?|ks?)?"),
    ("D", r"d(?:ays?)?"),
    ("H", r"h(?:ours?|rs?)?"),
    ("MIN", r"min(?:utes?|s)?"),
    ("S", r"s(?:ec(?:onds?|s)?)?"),
)


def _units(prefix: str) -> str:
    return "|".join(f"(?P<{prefix}{u}>{p})" for u, p in _FREE_UNITS)


# "90 days" and, as in "gestational week 15", "week 15".
_FREE_TOKEN_RE = re.compile(
    rf"(?P<qty>\d+(?:\.\d+)?)\s*(?:{_units('a')})\b"
    rf"|\b(?:{_units('b')})s?\s*(?P<bqty>\d+(?:\.\d+)?)",
    re.I,
)


def _iso_seconds(duration: str) -> float | None:
    """Approximate length of one ISO 8601 duration, or None if it is not one."""
    m = _ISO_DURATION_RE.fullmatch(duration)
    if not m:
        return None
    parts = [p.replace(",", ".") if p else None for p in m.groups()]
    filled = [p for p in parts if p is not None]
    if not filled or any("." in p for p in filled[:-1]):
        return None  # decimals are only allowed in the smallest unit
    return sum(float(p) * s for p, s in zip(parts, _UNIT_SECONDS, strict=True) if p is not None)


def _free_text_duration(text: str) -> str | None:
    """'90 days' -> 'P90D', '2 years 3 months' -> 'P2Y3M'; None if anything is left over."""
    found: dict[str, str] = {}
    rest = text
    for m in _FREE_TOKEN_RE.finditer(text):
        prefix = "b" if m.group("bqty") is not None else "a"
        unit = next(u for u, _ in _FREE_UNITS if m.group(prefix + u))
        if unit in found:
            return None
        qty = m.group("bqty" if prefix == "b" else "qty")
        found[unit] = qty[:-2] if qty.endswith(".0") else qty
        rest = rest.replace(m.group(0), " ", 1)
    if not found or re.sub(r"[\s,;:.]|and|old", "", rest, flags=re.I):
        return None
    date = "".join(f"{found[u]}{u}" for u in ("Y", "M", "W", "D") if u in found)
    time = "".join(f"{found[u]}{u[0]}" for u in ("H", "MIN", "S") if u in found)
    return "P" + date + (f"T{time}" if time else "")


@dataclass(frozen=True)
class Age:
    value: str  # ISO 8601 duration or range, e.g. "P90D", "P2M/P3M", "P90D/"
    reference: str  # "Birth" or "Gestational"
    exact: bool  # already written as ISO 8601 (what DANDI requires)


def _one_duration(text: str, original: str) -> tuple[str, float, bool]:
    """(ISO duration, approximate seconds, written as ISO already) for one bound."""
    upper = text.upper()
    if (seconds := _iso_seconds(upper)) is not None:
        normal = upper.replace(",", ".")
        return normal, seconds, normal == text
    free = _free_text_duration(text)
    if free is None or (seconds := _iso_seconds(free)) is None:
        raise ValueError(f"'{original}' is not an ISO 8601 duration such as 'P90D'")
    return free, seconds, False


def parse_age(value: str | None) -> Age:
    """Read an age ("P90D", "90 days", "P2M/P3M", "gestational week 15").

    Raises ValueError with a plain-words reason.
    """
    if not value or not value.strip():
        raise ValueError("the age is empty")
    text = value.strip()
    reference = "Birth"
    if re.match(r"gest", text, re.I):
        reference = "Gestational"
        text = re.sub(r"^gest[a-z]*\s*", "", text, flags=re.I)
    if "/" not in text:
        normal, _, exact = _one_duration(text, value.strip())
        return Age(normal, reference, exact=exact and reference == "Birth")
    parts = [p.strip() for p in text.split("/")]
    if len(parts) != 2 or not any(parts):
        raise ValueError("an age range must look like 'P2M/P3M' or 'P90D/'")
    bounds = [_one_duration(p, p) if p else None for p in parts]
    lo, hi = bounds
    if lo is not None and hi is not None and lo[1] >= hi[1]:
        raise ValueError("the upper bound of the age range must be larger than the lower")
    normal = "/".join(b[0] if b else "" for b in bounds)
    exact = all(b[2] for b in bounds if b) and reference == "Birth"
    return Age(normal, reference, exact=exact)
