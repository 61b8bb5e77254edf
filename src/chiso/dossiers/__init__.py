"""Dossier records (hồ sơ TTHC), the procedure catalogue and feedback: canonical schema,
ingestion and the columnar store the service index is computed from."""

from chiso.dossiers.ingest import ImportSummary, Reject
from chiso.dossiers.store import DossierStore, Snapshot, registry_units

__all__ = ["DossierStore", "ImportSummary", "Reject", "Snapshot", "registry_units"]
