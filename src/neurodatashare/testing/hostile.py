"""Hostile and odd NWB files, one writer per case, for tests of validation and extraction.

Each writer takes a folder, writes one file there (the family writer: its parts) the way
other tools or a careless h5py edit would, and returns the path. Every file keeps a proper
subject and session unless the case is about them, so tests can check that extraction
still describes them.

    path = hostile.soft_link_cycle(tmp_path)
    nds validate path   ->  CRITICAL soft_link_cycle, no RecursionError text
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from neurodatashare.testing import nwbfiles as nf


def _base(folder: Path, name: str, *, identifier: str | None = None) -> Path:
    """A small good file (subject, session, a position series) to make hostile."""
    nwbfile = nf.make_nwbfile(identifier=identifier or f"hostile-{Path(name).stem}")
    nf.add_behavior(nwbfile, duration_s=2.0)
    return nf.write_nwbfile(nwbfile, Path(folder) / name)


def future_nwb_version(folder: Path) -> Path:
    """A file that says it follows NWB 3.1.0, newer than any pynwb knows."""
    import h5py

    path = _base(folder, "future_version.nwb")
    with h5py.File(path, "r+") as f:
        f.attrs["nwb_version"] = "3.1.0"
    return path


def invalid_nwb_version(folder: Path) -> Path:
    """A file whose nwb_version is not a version at all (pynwb fails with a TypeError)."""
    import h5py

    path = _base(folder, "invalid_version.nwb")
    with h5py.File(path, "r+") as f:
        f.attrs["nwb_version"] = "version two"
    return path


def unknown_neurodata_type(folder: Path) -> Path:
    """An acquisition object of a type the core schema lacks: pynwb drops it silently."""
    import h5py
    import numpy as np

    path = _base(folder, "unknown_type.nwb")
    with h5py.File(path, "r+") as f:
        group = f["acquisition"].create_group("quantum_signal")
        group.attrs["neurodata_type"] = "QuantumSeries"
        group.attrs["namespace"] = "core"
        group.attrs["object_id"] = "6c1b3f0e-0000-4000-8000-000000000001"
        group["data"] = np.arange(100, dtype=np.float32)
    return path


def broken_external_link(folder: Path) -> Path:
    """An external link to an object in a file that is not there."""
    import h5py

    path = _base(folder, "broken_link.nwb")
    with h5py.File(path, "r+") as f:
        f["acquisition/raw"] = h5py.ExternalLink("raw_data.nwb", "/acquisition/ElectricalSeries")
    return path


def sibling_external_link(folder: Path) -> tuple[Path, Path]:
    """(linking file, target file): a link to a series in a file next to it."""
    import h5py

    target = _base(folder, "target.nwb")
    path = _base(folder, "linking.nwb")
    with h5py.File(path, "r+") as f:
        f["acquisition/position_elsewhere"] = h5py.ExternalLink(
            "target.nwb", "/processing/behavior/Position/position"
        )
    return path, target


def compression_bomb(folder: Path) -> Path:
    """A 32 GiB all-zero series that takes a few hundred kB on disk."""
    import h5py

    path = _base(folder, "bomb.nwb")
    with h5py.File(path, "r+") as f:
        series = f["processing/behavior/Position/position"]
        del series["data"]
        data = series.create_dataset(
            "data",
            shape=(2**31, 2),
            dtype="f8",
            chunks=(2**18, 2),
            compression="gzip",
            fillvalue=0.0,
        )
        data[: 2**18] = 0.0  # one real chunk, the rest unallocated
        data.attrs["unit"] = "meters"
        data.attrs["conversion"] = 1.0
        data.attrs["resolution"] = -1.0
        data.attrs["offset"] = 0.0
    return path


def extreme_nesting(folder: Path, *, depth: int = 2000) -> Path:
    """Untyped groups nested `depth` deep under /acquisition (pynwb recurses into them)."""
    import h5py

    path = _base(folder, "deep.nwb")
    with h5py.File(path, "r+") as f:
        group = f["acquisition"].create_group("nested")
        for _ in range(depth):
            group = group.create_group("level")
    return path


def missing_identifier(folder: Path) -> Path:
    """A file without the /identifier dataset every NWB file must have."""
    import h5py

    path = _base(folder, "no_identifier.nwb")
    with h5py.File(path, "r+") as f:
        del f["identifier"]
    return path


def soft_link_cycle(folder: Path) -> Path:
    """A soft link inside a group that points back at the group."""
    import h5py

    path = _base(folder, "cycle.nwb")
    with h5py.File(path, "r+") as f:
        loop = f["acquisition"].create_group("loop")
        loop["back"] = h5py.SoftLink("/acquisition/loop")
    return path


def family_split(folder: Path, *, member_size: int = 64 * 1024) -> list[Path]:
    """One NWB file written with h5py's family driver: parts family-0.nwb, family-1.nwb..."""
    import h5py
    from pynwb import NWBHDF5IO

    folder = Path(folder)
    nwbfile = nf.make_nwbfile(identifier="hostile-family")
    nf.add_behavior(nwbfile, duration_s=20.0)
    h5 = h5py.File(str(folder / "family-%d.nwb"), "w", driver="family", memb_size=member_size)
    with NWBHDF5IO(file=h5, mode="w") as io:
        io.write(nwbfile)
    h5.close()
    return sorted(folder.glob("family-*.nwb"), key=lambda p: int(p.stem.split("-")[1]))


def hdmf_common_objects(folder: Path) -> Path:
    """A DynamicTable in a processing module and HERD external resources (hdmf-common
    types, which have a data_type but no neurodata_type in hdmf 4+)."""
    from hdmf.common import HERD, DynamicTable, VectorData

    nwbfile = nf.make_nwbfile(identifier="hostile-hdmf-common")
    strains = DynamicTable(
        name="strains",
        description="strain of each animal",
        columns=[VectorData(name="strain", description="strain", data=["C57BL/6J"] * 2)],
    )
    nwbfile.create_processing_module("misc", "lab tables").add(strains)
    herd = HERD()
    herd.add_ref(
        container=strains["strain"],
        key="C57BL/6J",
        entity_id="MGI:3028467",
        entity_uri="https://www.informatics.jax.org/strain/MGI:3028467",
    )
    nwbfile.external_resources = herd
    return nf.write_nwbfile(nwbfile, Path(folder) / "hdmf_common.nwb")


#: Every single-file case, by name (family_split and sibling_external_link write more).
CASES: dict[str, Callable[[Path], Path]] = {
    "future_nwb_version": future_nwb_version,
    "invalid_nwb_version": invalid_nwb_version,
    "unknown_neurodata_type": unknown_neurodata_type,
    "broken_external_link": broken_external_link,
    "compression_bomb": compression_bomb,
    "extreme_nesting": extreme_nesting,
    "missing_identifier": missing_identifier,
    "soft_link_cycle": soft_link_cycle,
    "hdmf_common_objects": hdmf_common_objects,
}
