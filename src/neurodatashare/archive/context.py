"""The handles every service needs: database, blob store and settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from neurodatashare.archive.blob_files import OpenFiles
from neurodatashare.config import Settings
from neurodatashare.db import Database
from neurodatashare.storage import BlobStore, get_blob_store


@dataclass
class Archive:
    settings: Settings
    db: Database
    store: BlobStore
    #: HDF5 files the explorer keeps open between requests (archive/blob_files.py)
    files: OpenFiles = field(default_factory=OpenFiles, repr=False, compare=False)

    @classmethod
    def open(cls, settings: Settings, *, migrate: bool = True) -> Archive:
        settings.ensure_home()
        from neurodatashare.archive import search_index

        db = Database(settings.resolved_database_url)
        search_index.install(db)
        if migrate:
            db.migrate()
            search_index.index_missing(db)
        return cls(settings=settings, db=db, store=get_blob_store(settings))

    @property
    def api_url(self) -> str:
        return f"{self.settings.resolved_public_url}/api"

    def close(self) -> None:
        self.files.close()
        self.db.dispose()
