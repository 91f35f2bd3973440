"""The JSON bodies of the write routes, as pydantic models with DANDI's wire names.

The server validates each body into its model (server/bodies.py), so the OpenAPI document
shows every request schema and the services get values of the right types. The models
check types and shapes only; the rules about values (a dandi-etag's part count, a path's
characters, an embargo date in the future) stay in the services, with their messages.

Unknown fields are ignored, not refused: the `dandi` client sends some we do not read
(`zarr_id`, an owner's `name`), and DANDI metadata is open.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, StrictInt, StrictStr

# Strict types: "12" is not a size and true is not a part number, as before the models.


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, validate_by_name=True)


class UploadDigest(Body):
    algorithm: Literal["dandi:dandi-etag"] = Field(description="Uploads use the dandi-etag.")
    value: StrictStr = Field(description="The dandi-etag: 32 hex digits, '-', the part count.")


class InitializeUpload(Body):
    """`POST /api/uploads/initialize/`."""

    content_size: StrictInt = Field(alias="contentSize", description="The file size in bytes.")
    digest: UploadDigest
    dandiset: StrictStr | None = Field(
        default=None, description="The dataset the upload is for, e.g. '000001'."
    )


class CompletedPart(Body):
    part_number: StrictInt
    size: StrictInt
    etag: StrictStr = Field(description="The ETag the part's PUT answered (its MD5).")


class CompleteUpload(Body):
    """`POST /api/uploads/{upload_id}/complete/`."""

    parts: list[CompletedPart]


class BlobDigest(Body):
    """`POST /api/blobs/digest/`."""

    algorithm: Literal["dandi:dandi-etag", "dandi:sha2-256"]
    value: StrictStr


class AssetBody(Body):
    """`POST …/assets/` and `PUT …/assets/{asset_id}/`: new metadata for stored bytes."""

    metadata: dict[str, Any] = Field(description="Asset metadata; 'path' is required.")
    blob_id: StrictStr | None = Field(
        default=None, description="The blob_id the upload's validate step answered."
    )
    zarr_id: StrictStr | None = Field(
        default=None, description="Or: the zarr_id POST /api/zarr/ answered (a Zarr asset)."
    )


class NewDataset(Body):
    """`POST /api/dandisets/`; the name may also come from `metadata.name`."""

    name: StrictStr | None = None
    metadata: dict[str, Any] | None = None

    def dataset_name(self) -> str | None:
        if self.name is not None:
            return self.name
        from_metadata = (self.metadata or {}).get("name")
        return from_metadata if isinstance(from_metadata, str) else None


class DraftUpdate(Body):
    """`PUT /api/dandisets/{id}/versions/draft/`."""

    metadata: dict[str, Any]
    name: StrictStr | None = None


class Owner(Body):
    username: StrictStr


class Owners(RootModel[list[Owner]]):
    """`PUT /api/dandisets/{id}/users/`: the complete list of owners."""

    hint: ClassVar[str] = 'Send a list of owners: [{"username": "alice"}, ...].'

    def usernames(self) -> list[str]:
        return [o.username for o in self.root]


class AccessChange(Body):
    """`PUT /api/dandisets/{id}/access/` (extension)."""

    access: Literal["open", "embargoed", "private"]
    embargo_end: StrictStr | None = Field(
        default=None, description="YYYY-MM-DD; required for 'embargoed'."
    )


class NewZarr(Body):
    """`POST /api/zarr/`."""

    name: StrictStr = Field(description="The asset path the Zarr is for, e.g. 'sub-1/x.zarr'.")
    dandiset: StrictStr = Field(description="The dataset's six-digit identifier.")


class ZarrFileUpload(Body):
    path: StrictStr = Field(description="The file's path inside the Zarr, e.g. '0/.zarray'.")
    base64md5: StrictStr = Field(description="The file's MD5 digest, base64-encoded.")


class ZarrFileUploads(RootModel[list[ZarrFileUpload]]):
    """`POST /api/zarr/{zarr_id}/files/`: the files to upload (at most 255)."""

    hint: ClassVar[str] = 'Send a list: [{"path": "0/.zarray", "base64md5": "..."}, ...].'


class ZarrFileDelete(Body):
    path: StrictStr


class ZarrFileDeletes(RootModel[list[ZarrFileDelete]]):
    """`DELETE /api/zarr/{zarr_id}/files/`: the files to delete (at most 100)."""

    hint: ClassVar[str] = 'Send a list: [{"path": "0/0.0"}, ...].'


# -- /api/convert/ ---------------------------------------------------------------------


class ConvertStream(Body):
    format: StrictStr = Field(description="A format name from /api/convert/formats/.")
    source: dict[str, Any] = Field(
        default_factory=dict, description="Its source options (the format's source_schema)."
    )


class ConvertSessions(Body):
    """`POST /api/convert/sessions/`."""

    root: StrictStr = Field(description="The server folder the patterns are relative to.")
    streams: list[ConvertStream]
    hint: ClassVar[str] = (
        'Send {"root": "/data/lab", "streams": [{"format": "SpikeGLXRecording", '
        '"source": {"folder_path": "{subject_id}/{session_id}", "stream_id": "imec0.ap"}}]}.'
    )


class ConvertMetadata(Body):
    """`POST /api/convert/metadata/`."""

    streams: list[ConvertStream]
    hint: ClassVar[str] = (
        'Send {"streams": [{"format": "PhySorting", "source": {"folder_path": "/data/phy"}}]}.'
    )


class ConvertJob(Body):
    """`POST /api/convert/jobs/`."""

    kind: Literal["preview", "conversion"] = "conversion"
    streams: list[ConvertStream]
    metadata: dict[str, Any] | None = Field(
        default=None, description="NeuroConv's metadata (NWBFile, Subject, ...), merged in."
    )
    hardware: dict[str, Any] | None = Field(
        default=None,
        description="The devices, electrodes and imaging plane in the shape of `nds convert`'s "
        "YAML: {devices: [{name, manufacturer, ...}], ecephys: {device, location}, ophys: {...}}.",
    )
    output_name: StrictStr | None = Field(default=None, description="File name, *.nwb.")
    hint: ClassVar[str] = (
        'Send {"kind": "preview", "streams": [...], "metadata": {"Subject": {...}}}.'
    )


class ConvertUpload(Body):
    """`POST /api/convert/jobs/{job_id}/upload/`."""

    dataset_id: StrictStr = Field(description="The dataset whose draft gets the file.")
    path: StrictStr | None = Field(
        default=None, description="Its path in the dataset. Default: sub-<subject>/<file>."
    )
