"""Reading PDFs back as a reader gets them: poppler's tools (Debian poppler-utils) and pypdf."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from tests.conftest import IN_CI


def need(tool: str) -> str:
    """The path of a poppler tool; skip without it (fail in CI, where `make test` installs it)."""
    path = shutil.which(tool)
    if path is None:
        if IN_CI:
            pytest.fail(f"{tool} missing: `make test` installs Debian's poppler-utils")
        pytest.skip(f"{tool} not installed (Debian poppler-utils; `make system`)")
    return path


def pdf_text(pdf: Path) -> str:
    """The PDF's text as pdftotext lays it out."""
    out = subprocess.run([need("pdftotext"), "-layout", str(pdf), "-"], capture_output=True, check=True)
    return out.stdout.decode()


def embedded_fonts(pdf: Path) -> set[str]:
    """Names of the fonts whose programs the PDF embeds."""
    names = set()
    for page in PdfReader(pdf).pages:
        resources: Any = page["/Resources"]
        fonts = resources.get_object().get("/Font", {})
        for ref in fonts.values():
            font = ref.get_object()
            for descendant in font.get("/DescendantFonts", []):
                descriptor = descendant.get_object()["/FontDescriptor"].get_object()
                if "/FontFile2" in descriptor:  # the font program is embedded
                    names.add(str(font["/BaseFont"]))
    return names
