"""The NWB file of one demo session, built in memory from a simulated :class:`Session`.

One function per part of the file (subject and session, probe, ephys, units, microscope,
imaging, behaviour, trials), called in a fixed order: the order objects are added is part
of what makes the same seed give the same bytes. The two large series (raw voltage and
two-photon frames) are not held in memory; hdmf pulls them block by block from the
signal models while writing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import numpy as np
from hdmf.backends.hdf5 import H5DataIO
from hdmf.data_utils import GenericDataChunkIterator
from pynwb import NWBFile, TimeSeries
from pynwb.behavior import Position, SpatialSeries
from pynwb.device import Device, DeviceModel
from pynwb.ecephys import LFP, ElectricalSeries, ElectrodeGroup
from pynwb.file import Subject
from pynwb.misc import Units as NWBUnits
from pynwb.ophys import (
    DfOverF,
    Fluorescence,
    ImageSegmentation,
    ImagingPlane,
    OpticalChannel,
    RoiResponseSeries,
    TwoPhotonSeries,
)

from neurodatashare import __version__
from neurodatashare.demo.simulate.ephys import FS_LFP, FS_RAW, NOISE_UV, UV_PER_BIT
from neurodatashare.demo.simulate.imaging import FRAME_RATE, UM_PER_PIXEL
from neurodatashare.demo.simulate.noise import rng_for
from neurodatashare.demo.simulate.session import Session
from neurodatashare.demo.subjects import DemoSubject
from neurodatashare.nwb.convert.layout import COMPRESSION, ephys_chunks, imaging_chunks

NAMESPACE = uuid.UUID("5d0b6a7e-2f43-4c1e-9b1a-6f3f2d0e8a11")


class _Rows(GenericDataChunkIterator):
    """A hdmf chunk iterator that asks ``get(start, stop)`` for rows along the first axis."""

    def __init__(
        self,
        get: Callable[[int, int], np.ndarray],
        shape: tuple[int, ...],
        dtype: np.dtype[Any],
        chunk_shape: tuple[int, ...],
        buffer_rows: int,
    ) -> None:
        self._get, self._shape, self._dtype = get, shape, dtype  # read by super().__init__
        super().__init__(
            chunk_shape=chunk_shape,
            buffer_shape=(min(shape[0], buffer_rows), *shape[1:]),
            display_progress=False,
        )

    def _get_data(self, selection: tuple[slice, ...]) -> np.ndarray:
        rows = self._get(selection[0].start or 0, selection[0].stop)
        return rows[(slice(None), *selection[1:])]

    def _get_maxshape(self) -> tuple[int, ...]:
        return self._shape

    def _get_dtype(self) -> np.dtype[Any]:
        return self._dtype


def _freeze_object_ids(nwbfile: NWBFile, seed: int, key: tuple[int, ...]) -> None:
    """Give every object a UUID derived from the seed, so identical input -> identical bytes."""
    rng = rng_for(seed, *key, "ids")
    for obj in nwbfile.all_children():
        value = str(
            uuid.UUID(
                int=int(rng.integers(0, 2**63)) << 64 | int(rng.integers(0, 2**63)), version=4
            )
        )
        obj._AbstractContainer__object_id = value  # hdmf has no public setter


def build_demo_nwbfile(
    session: Session,
    subject: DemoSubject,
    session_index: int,
    session_id: str,
) -> NWBFile:
    """The in-memory NWBFile of one demo session (large series stream from ``session``)."""
    nwbfile = _new_nwbfile(session, subject, session_index, session_id)
    groups = _add_probe(nwbfile, session, subject)
    _add_ecephys(nwbfile, session)
    _add_units(nwbfile, session, groups)
    plane = _add_microscope(nwbfile)
    _add_ophys(nwbfile, session, plane)
    _add_behavior(nwbfile, session)
    _add_trials(nwbfile, session)
    _freeze_object_ids(nwbfile, session.seed, session.key)
    return nwbfile


def _new_nwbfile(s: Session, subject: DemoSubject, session_index: int, session_id: str) -> NWBFile:
    """The file with its session and subject metadata, and nothing recorded yet."""
    start_time = subject.first_session + timedelta(days=session_index, minutes=7 * session_index)
    ident = uuid.uuid5(NAMESPACE, f"{s.seed}/{subject.subject_id}/{session_id}")
    return NWBFile(
        session_description=(
            "Synthetic demo session (all data simulated by neurodatashare): a head-fixed mouse "
            "runs in a virtual arena and licks for 0 and 45 degree gratings, while a two-shank "
            "64-site probe records visual cortex and hippocampus and a two-photon microscope "
            "images GCaMP6s-expressing layer 2/3 neurons in VISp."
        ),
        identifier=str(ident),
        session_start_time=start_time,
        file_create_date=[start_time + timedelta(hours=2)],
        timestamps_reference_time=start_time,
        session_id=session_id,
        experimenter=["Doe, Jane", "Roe, Richard"],
        experiment_description=(
            "Orientation discrimination (go: 0 and 45 degrees; no-go: 90 and 135 degrees) at four "
            "contrasts, with simultaneous extracellular electrophysiology and two-photon imaging."
        ),
        institution="Neurodatashare Demo Institute",
        lab="Synthetic Systems Neuroscience Lab",
        keywords=[
            "synthetic data",
            "demo",
            "visual cortex",
            "hippocampus",
            "extracellular electrophysiology",
            "two-photon imaging",
            "orientation discrimination",
        ],
        notes=(
            f"Generated by neurodatashare {__version__} with seed {s.seed}; nothing was recorded."
        ),
        surgery="Headpost implantation and 3 mm cranial window over left VISp, 3 weeks before.",
        virus="None (transgenic GCaMP6s expression).",
        was_generated_by=[["neurodatashare", __version__]],
        subject=Subject(
            subject_id=subject.subject_id,
            species="Mus musculus",
            sex=subject.sex,
            age=f"P{subject.age_days + session_index}D",
            genotype=subject.genotype,
            strain=subject.strain,
            weight=f"{subject.weight_kg} kg",
            description="Simulated adult mouse, water-restricted for the task.",
        ),
    )


def _add_probe(nwbfile: NWBFile, s: Session, subject: DemoSubject) -> list[ElectrodeGroup]:
    """The probe device, its two shanks (electrode groups) and the 64 electrodes."""
    probe_model = DeviceModel(
        name="Two-shank 64-site probe",
        manufacturer="Simulated (neurodatashare demo)",
        model_number="DEMO-2x32",
        description="Two shanks 250 um apart, 32 sites each at 50 um pitch.",
    )
    nwbfile.add_device_model(probe_model)
    probe_device = Device(
        name="Probe",
        description="Two-shank silicon probe with an Intan-style 64-channel headstage.",
        serial_number=f"DEMO-{subject.subject_id}",
        model=probe_model,
    )
    nwbfile.add_device(probe_device)
    groups = []
    for sh in range(2):
        regions = sorted({s.probe.region[c] for c in np.flatnonzero(s.probe.shank == sh)})
        groups.append(
            nwbfile.create_electrode_group(
                name=f"shank{sh}",
                description=f"Shank {sh} of the probe, 32 sites at 50 um pitch.",
                location=", ".join(regions),
                device=probe_device,
            )
        )
    for c in range(s.probe.n_channels):
        nwbfile.add_electrode(
            group=groups[int(s.probe.shank[c])],
            location=s.probe.region[c],
            rel_x=float(s.probe.x_um[c]),
            rel_y=float(s.probe.y_um[c]),
            imp=1.0e6,
            filtering="Hardware band-pass 0.1-7500 Hz",
            reference="Cerebellar skull screw",
        )
    return groups


def _add_ecephys(nwbfile: NWBFile, s: Session) -> None:
    """The raw 30 kHz voltage (streamed from the model while writing) and the 1 kHz LFP."""
    all_electrodes = nwbfile.create_electrode_table_region(
        region=list(range(s.probe.n_channels)), description="All 64 probe sites."
    )
    n = s.ephys.n_samples
    chunks = ephys_chunks(n, s.probe.n_channels, 2)
    rows = _Rows(
        s.ephys.block_counts, (n, s.probe.n_channels), np.dtype("int16"), chunks, chunks[0] * 8
    )
    raw = ElectricalSeries(
        name="ElectricalSeries",
        description="Wide-band extracellular voltage, 30 kHz, int16 counts of 0.195 uV.",
        data=H5DataIO(rows, chunks=chunks, **COMPRESSION),
        electrodes=all_electrodes,
        starting_time=0.0,
        rate=FS_RAW,
        conversion=UV_PER_BIT * 1e-6,
        resolution=UV_PER_BIT * 1e-6,
        filtering="Hardware band-pass 0.1-7500 Hz",
    )
    nwbfile.add_acquisition(raw)

    lfp_rng = rng_for(s.seed, *s.key, "lfp_noise")
    lfp_uv = s.lfp.uv + lfp_rng.standard_normal(s.lfp.uv.shape, dtype=np.float32) * 1.5
    lfp_counts = np.clip(np.rint(lfp_uv / UV_PER_BIT), -32768, 32767).astype(np.int16)
    ecephys = nwbfile.create_processing_module(
        "ecephys", "Processed extracellular electrophysiology: LFP and spike sorting."
    )
    lfp_container = LFP(name="LFP")
    ecephys.add(lfp_container)  # attach first, so the electrode region shares an ancestor
    lfp_container.add_electrical_series(
        ElectricalSeries(
            name="LFP",
            description="Local field potential: wide-band signal low-passed at 300 Hz, 1 kHz.",
            data=H5DataIO(
                lfp_counts,
                chunks=ephys_chunks(lfp_counts.shape[0], lfp_counts.shape[1], 2),
                **COMPRESSION,
            ),
            electrodes=nwbfile.create_electrode_table_region(
                region=list(range(s.probe.n_channels)), description="All 64 probe sites."
            ),
            starting_time=0.0,
            rate=FS_LFP,
            conversion=UV_PER_BIT * 1e-6,
            filtering="Software low-pass 300 Hz (4th-order Butterworth), decimated to 1 kHz",
        )
    )


def _add_units(nwbfile: NWBFile, s: Session, groups: list[ElectrodeGroup]) -> None:
    """The sorted units: spike times, mean waveforms on the nearest sites, curation labels."""
    units_table = NWBUnits(
        name="units",
        description="Units from spike sorting of the wide-band signal (Kilosort-style).",
        waveform_rate=FS_RAW,
        waveform_unit="volts",
        resolution=1.0 / FS_RAW,
        electrode_table=nwbfile.electrodes,
    )
    nwbfile.units = units_table
    units_table.add_column("quality", "Curation label: 'good' (single unit) or 'mua'.")
    units_table.add_column("peak_channel", "Index of the electrode with the largest waveform.")
    for u in range(s.units.n_units):
        chans = s.units.nearest_channels(u, s.probe)
        wf = s.units.templates[u][:, chans] * 1e-6
        units_table.add_unit(
            spike_times=s.units.spike_times(u),
            obs_intervals=[[0.0, float(s.duration_s)]],
            electrodes=chans.tolist(),
            electrode_group=groups[int(s.probe.shank[s.units.peak_channel[u]])],
            waveform_mean=wf.astype(np.float32),
            waveform_sd=np.full_like(wf, NOISE_UV * 1e-6, dtype=np.float32),
            quality=s.units.quality[u],
            peak_channel=int(s.units.peak_channel[u]),
        )


def _add_microscope(nwbfile: NWBFile) -> ImagingPlane:
    """The two-photon microscope and the imaging plane it records."""
    scope_model = DeviceModel(
        name="Resonant two-photon microscope",
        manufacturer="Simulated (neurodatashare demo)",
        model_number="DEMO-2P",
        description="8 kHz resonant scanner, 16x/0.8 NA objective, GaAsP PMT.",
    )
    nwbfile.add_device_model(scope_model)
    scope = Device(
        name="Microscope",
        description="Resonant-scanning two-photon microscope.",
        serial_number="DEMO-2P-0001",
        model=scope_model,
    )
    nwbfile.add_device(scope)
    plane: ImagingPlane = nwbfile.create_imaging_plane(
        name="ImagingPlane",
        optical_channel=OpticalChannel(
            name="Green", description="GCaMP6s emission, 525/50 nm filter.", emission_lambda=525.0
        ),
        description="Layer 2/3 of left VISp, 180 um below the pia.",
        device=scope,
        excitation_lambda=920.0,
        indicator="GCaMP6s",
        location="VISp",
        imaging_rate=FRAME_RATE,
        origin_coords=[0.0, 0.0, 180e-6],
        origin_coords_unit="meters",
        grid_spacing=[UM_PER_PIXEL * 1e-6, UM_PER_PIXEL * 1e-6],
        grid_spacing_unit="meters",
        reference_frame="Origin at the top-left pixel of the field of view, depth from the pia.",
    )
    return plane


def _add_ophys(nwbfile: NWBFile, s: Session, plane: ImagingPlane) -> None:
    """The raw frames (streamed while writing), the segmentation and the ROI traces."""
    img = s.imaging
    ichunks = imaging_chunks(img.n_frames, (img.shape[1], img.shape[0]), 2)
    frames = _Rows(
        lambda a, b: img.frames(a, b).transpose(0, 2, 1),  # NWB stores (frame, x, y)
        (img.n_frames, img.shape[1], img.shape[0]),
        np.dtype("uint16"),
        ichunks,
        ichunks[0] * 8,
    )
    tps = TwoPhotonSeries(
        name="TwoPhotonSeries",
        description="Raw two-photon frames, 128 x 128 pixels at 30 Hz.",
        data=H5DataIO(frames, chunks=ichunks, **COMPRESSION),
        imaging_plane=plane,
        unit="a.u.",
        rate=FRAME_RATE,
        starting_time=0.0,
        field_of_view=[img.shape[0] * UM_PER_PIXEL * 1e-6, img.shape[1] * UM_PER_PIXEL * 1e-6],
        pmt_gain=600.0,
        scan_line_rate=FRAME_RATE * img.shape[0],
    )
    nwbfile.add_acquisition(tps)
    ophys = nwbfile.create_processing_module(
        "ophys", "Processed two-photon data: segmentation and fluorescence traces."
    )
    segmentation = ImageSegmentation(name="ImageSegmentation")
    ps = segmentation.create_plane_segmentation(
        name="PlaneSegmentation",
        description="Cell bodies found by segmentation of the motion-corrected movie.",
        imaging_plane=plane,
        reference_images=tps,
    )
    for m in img.masks:
        ps.add_roi(image_mask=m.T)  # (x, y), as NWB and NeuroConv store masks
    ophys.add(segmentation)
    f = img.fluorescence()
    f0 = np.percentile(f, 10, axis=0, keepdims=True)
    traces = [
        (Fluorescence(name="Fluorescence"), f, "a.u.", "Mean fluorescence inside each ROI mask."),
        (
            DfOverF(name="DfOverF"),
            ((f - f0) / f0).astype(np.float32),
            "n.a.",
            "(F - F0) / F0 with F0 the 10th percentile of each ROI's trace.",
        ),
    ]
    for container, values, unit, description in traces:
        ophys.add(container)  # attach first, so the ROI region shares an ancestor with its table
        container.add_roi_response_series(
            RoiResponseSeries(
                name="RoiResponseSeries",
                description=description,
                data=values,
                rois=ps.create_roi_table_region(
                    region=list(range(img.masks.shape[0])), description="All segmented cells."
                ),
                unit=unit,
                rate=FRAME_RATE,
                starting_time=0.0,
            )
        )


def _add_behavior(nwbfile: NWBFile, s: Session) -> None:
    """Position in the virtual arena, running speed and licks."""
    b = s.behavior
    behavior = nwbfile.create_processing_module(
        "behavior", "Position, running speed and licking in the virtual arena."
    )
    behavior.add(
        Position(
            spatial_series=SpatialSeries(
                name="position",
                description="Position of the mouse in the 1 m x 1 m virtual arena.",
                data=b.xy,
                reference_frame="(0, 0) is the south-west corner; x points east, y north.",
                unit="meters",
                rate=b.rate,
                starting_time=0.0,
            )
        )
    )
    behavior.add(
        TimeSeries(
            name="running_speed",
            description="Running speed measured by the treadmill's rotary encoder.",
            data=b.speed,
            unit="m/s",
            rate=b.rate,
            starting_time=0.0,
        )
    )
    behavior.add(
        TimeSeries(
            name="licks",
            description="Lick contacts on the capacitive reward spout: one entry (1) per lick.",
            data=np.ones(b.lick_times.size, dtype=np.uint8),
            timestamps=b.lick_times,
            unit="lick",
            continuity="instantaneous",
        )
    )


TRIAL_COLUMNS = [
    ("stimulus_start_time", "Grating onset (s)."),
    ("stimulus_stop_time", "Grating offset (s)."),
    ("stimulus_orientation", "Drifting grating orientation (degrees)."),
    ("stimulus_contrast", "Michelson contrast of the grating (0-1)."),
    ("go", "True for go stimuli (0 and 45 degrees), where licking is rewarded."),
    ("correct", "True if the mouse licked on a go trial or withheld on a no-go trial."),
    ("response_time", "Time of the first lick in the response window (s); NaN if none."),
]


def _add_trials(nwbfile: NWBFile, s: Session) -> None:
    """The trials table: one row per grating, with the stimulus and the mouse's response."""
    tr = s.trials
    for name, desc in TRIAL_COLUMNS:
        nwbfile.add_trial_column(name=name, description=desc)
    for i in range(len(tr)):
        nwbfile.add_trial(
            start_time=float(tr.start[i]),
            stop_time=float(tr.stop[i]),
            stimulus_start_time=float(tr.stim_on[i]),
            stimulus_stop_time=float(tr.stim_off[i]),
            stimulus_orientation=float(tr.orientation[i]),
            stimulus_contrast=float(tr.contrast[i]),
            go=bool(tr.go[i]),
            correct=bool(tr.correct[i]),
            response_time=float(tr.response_time[i]),
        )
