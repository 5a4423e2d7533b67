"""Evidence packs for tribunals: one constituency's case as a PDF a court can read and a folder anyone can
verify offline (docs/packs.md).

>>> from pollwatch.packs.legal import filing_window
>>> import datetime as dt
>>> filing_window(dt.date(2024, 2, 15))["last_day"]
'2024-03-31'
"""

from pollwatch.packs.export import FORMAT, PackSummary, export_pack
from pollwatch.packs.figures import compute_figures
from pollwatch.packs.verify import verify_pack

__all__ = ["FORMAT", "PackSummary", "compute_figures", "export_pack", "verify_pack"]
