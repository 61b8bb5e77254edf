"""Index methodologies (phương pháp tính chỉ số) as versioned definition files.

A method is data, never code: ``definitions/*.yaml`` declare groups, indicators, measures,
bands and the confidence of each element (the flat kind, the 766 index), or a criteria tree
(``kind: tree``: DTI, PAR Index, SIPAS, provincial templates); :mod:`chiso.methods.loader`
(with :mod:`chiso.methods.treeloader` for trees) reads and validates them into the frozen
dataclasses the pure scoring engine owns and evaluates (:mod:`chiso.scoring.model`).
:mod:`chiso.methods.bases` is the catalogue of records a measure may count.

The arrow runs one way: ``methods`` imports ``scoring`` (its types, and the engine to
check worked examples); ``scoring`` imports only the kernel.
"""
