"""Observation: versioned checklists observers fill in at their stations, incident reports, and the
quality-control rules that keep doubtful reports out of the figures.

Forms and the incident taxonomy are data files (``observe/forms/<country>/*.toml``,
``observe/incidents.toml``) with English and Urdu text; the records themselves enter through the one
submission core as the ``checklist`` and ``incident`` kinds (:mod:`pollwatch.intake.kinds.checklist`,
:mod:`pollwatch.intake.kinds.incident`), each a leaf of the public log.

References
----------
.. [1] pollwatch ../shared/docs/OBSERVATION.md, Spec A; NDI Apollo (form tags, QC expressions),
   Carter Center ELMO (outdated form versions refused), Uchaguzi (numeric incident codes).
"""
