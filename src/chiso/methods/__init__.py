"""Index methodologies (phương pháp tính chỉ số) as versioned definition files.

A method is data, never code: ``definitions/*.yaml`` declare groups, indicators, measures,
bands and the confidence of each element (the flat kind, the 766 index), or a criteria tree
(``kind: tree``: DTI, PAR Index, SIPAS, provincial templates); :mod:`chiso.methods.loader`
(with :mod:`chiso.methods.treeloader` for trees) reads and validates them into the frozen
dataclasses of :mod:`chiso.methods.model`, which the pure scoring engine
(:mod:`chiso.scoring`) evaluates.

Nothing is imported here on purpose: :mod:`chiso.scoring` imports the model, and the loader
imports the scoring engine (to check worked examples), so an eager import would be a cycle.
"""
