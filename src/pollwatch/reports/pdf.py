"""PDFs of pollwatch's own HTML pages (evidence packs, a delegation's report), with no browser.

WeasyPrint lays the HTML out; fonts come from pollwatch's own folder (``reports/fonts``: Noto Sans and
Noto Nastaliq Urdu, OFL) and are embedded as subsets, so a PDF reads the same on any machine and Urdu is
shaped right to left. A page refers to them as ``url("fonts/<file>")``.
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).parent

FONT_FACES = "\n".join(
    f'@font-face {{ font-family: "{family}";{weight} src: url("fonts/{file}"), local("{local}"); }}'
    for family, weight, file, local in (
        ("PW Sans", "", "NotoSans-Regular.ttf", "Noto Sans"),
        ("PW Sans", " font-weight: bold;", "NotoSans-Bold.ttf", "Noto Sans Bold"),
        ("PW Nastaliq", "", "NotoNastaliqUrdu-Regular.ttf", "Noto Nastaliq Urdu"),
    )
)
"""The ``@font-face`` rules of the bundled fonts, for a page's stylesheet."""


def render_pdf(html: str) -> bytes:
    """The PDF of ``html``: fonts resolved from pollwatch's own folder and embedded (subset)."""
    import weasyprint

    pdf: bytes = weasyprint.HTML(string=html, base_url=str(_HERE) + "/").write_pdf()
    return pdf
