"""Dossier records (hồ sơ TTHC), the procedure catalogue and feedback: canonical schema,
ingestion and the columnar store the service index is computed from."""

from chiso.dossiers.store import DossierStore, Snapshot, registry_units
from chiso.imports import ImportSummary, Reject

__all__ = ["DossierStore", "ImportSummary", "Reject", "Snapshot", "registry_units"]
