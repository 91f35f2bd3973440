"""Who and when: the demo's mice, their sessions and the DANDI-style file names."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

TZ = timezone(timedelta(hours=1), "CET")


@dataclass(frozen=True)
class DemoSubject:
    subject_id: str
    sex: str
    age_days: int  # at the first session
    genotype: str
    strain: str
    weight_kg: float
    first_session: datetime


DEMO_SUBJECTS: tuple[DemoSubject, ...] = (
    DemoSubject(
        subject_id="mouse01",
        sex="F",
        age_days=90,
        genotype="Camk2a-tTA/wt;tetO-GCaMP6s/wt",
        strain="C57BL/6J",
        weight_kg=0.022,
        first_session=datetime(2024, 3, 4, 10, 15, tzinfo=TZ),
    ),
    DemoSubject(
        subject_id="mouse02",
        sex="M",
        age_days=97,
        genotype="Camk2a-tTA/wt;tetO-GCaMP6s/wt",
        strain="C57BL/6J",
        weight_kg=0.026,
        first_session=datetime(2024, 3, 4, 14, 40, tzinfo=TZ),
    ),
)
DEMO_SESSIONS: tuple[str, ...] = ("day1", "day2")
MODALITIES = "behavior+ecephys+ophys"  # what `dandi organize` derives for these files (sorted)


def demo_relpath(subject_id: str, session_id: str) -> str:
    """The DANDI-style path of one demo file, e.g. ``sub-mouse01/sub-mouse01_ses-day1_...nwb``."""
    return f"sub-{subject_id}/sub-{subject_id}_ses-{session_id}_{MODALITIES}.nwb"


def session_id(k: int) -> str:
    """The id of a subject's ``k``-th session: day1, day2, ..."""
    return DEMO_SESSIONS[k] if k < len(DEMO_SESSIONS) else f"day{k + 1}"
