"""Loaders for the real datasets in ``shared/data``, each returning a :class:`StationTable`.

A dataset is named ``NAME[:PART]``, e.g. ``russia-kobak:2011``, ``uganda-uedp:2016``,
``austria-nrw-ooe-tirol:ooe-2008``, ``rozenas-spikes:canada2011``. Every folder's README says where the
data came from; the column rules below follow those READMEs and, for Russia, Kobak et al.'s notebooks.

References
----------
Kobak, Shpilkin & Pshenichnikov (2016), Ann. Appl. Stat. 10(1):54-73 (data: github.com/dkobak/elections).
Rozenas (2017), Political Analysis (data: CRAN package ``spikes`` 1.1).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from pollwatch.config import shared_data_dir
from pollwatch.errors import DataError, NotFoundError
from pollwatch.forensics.table import IntArray, StationTable, encode_regions

RUSSIA_YEARS = ("2004", "2007", "2008", "2011", "2012", "2016", "2018", "2020", "2021", "2024")
_RUSSIA_LEADERS = ("ПУТИН", "Путин", "Единая Россия", "ЕДИНАЯ РОССИЯ", "Медведев")
_RUSSIA_FIRST_CANDIDATE = {"2020": "ДА"}


def _read(path: Path, *, delimiter: str = ",") -> pa.Table:
    if not path.exists():
        raise NotFoundError(
            f"dataset file {path} does not exist",
            remedy="pass --data-dir pointing at the shared data folder (or set POLLWATCH_DATA_DIR)",
        )
    opts = pacsv.ParseOptions(delimiter=delimiter)
    conv = pacsv.ConvertOptions(strings_can_be_null=True)
    return pacsv.read_csv(path, parse_options=opts, convert_options=conv)


def _ints(table: pa.Table, column: str) -> IntArray:
    col = table.column(column)
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        text = [str(x).strip().replace(",", "") if x is not None else "" for x in col.to_pylist()]
        return np.asarray([int(float(x)) if x else 0 for x in text], dtype=np.int64)
    arr = np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)
    out: IntArray = np.nan_to_num(arr, nan=0.0).astype(np.int64)
    return out


def _matrix(table: pa.Table, columns: list[str]) -> IntArray:
    if not columns:
        return np.zeros((table.num_rows, 0), dtype=np.int64)
    return np.column_stack([_ints(table, c) for c in columns])


def _strings(table: pa.Table, column: str) -> list[str]:
    return [str(x) for x in table.column(column).to_pylist()]


def _join(table: pa.Table, *columns: str, sep: str = "/") -> tuple[str, ...]:
    """One code per row from the source's own identifying columns."""
    parts = [_strings(table, c) for c in columns]
    return tuple(sep.join(p.strip() for p in row) for row in zip(*parts, strict=True))


def _cols(table: pa.Table, *needles: str, exclude: tuple[str, ...] = ()) -> list[str]:
    return [
        c for c in table.column_names if any(n in c for n in needles) and not any(e in c for e in exclude)
    ]


def load_russia(year: str, data_dir: Path) -> StationTable:
    """Russian federal election ``year`` at polling-station (UIK) level, with Kobak's column rules.

    Registered = the "Число избирателей, включенных/внесенных" column; given = the sum of the three
    "бюллетеней, выданных" columns; valid/invalid from "действительных"/"недействительных"; candidates are the
    columns after the last protocol line (every numeric column that is not a protocol line).
    """
    if year not in RUSSIA_YEARS:
        raise NotFoundError(
            f"no Russian election {year} in russia-kobak", expected=", ".join(RUSSIA_YEARS), found=year
        )
    table = _read(data_dir / "russia-kobak" / f"{year}.csv.gz")
    names = table.column_names
    reg_col = _cols(
        table,
        "Число избирателей, включенных",
        "Число избирателей, внесенных",
        "Число участников голосования, включенных",
    )[0]
    given_cols = _cols(table, "бюллетеней, выданных")
    invalid_cols = _cols(table, "недействительных")
    valid_cols = _cols(table, "действительных", exclude=("недействительных", "отметок"))
    first_cand = _first_candidate_index(names, year)
    cand_cols = [c for c in names[first_cand:] if c != "url"]
    registered = _ints(table, reg_col)
    ok = ~np.isnan(table.column(reg_col).to_numpy(zero_copy_only=False).astype(np.float64))
    votes = _matrix(table, cand_cols)
    invalid = _matrix(table, invalid_cols).sum(axis=1)
    # 2020 (referendum) prints no valid-ballot line: valid ballots are the YES plus NO answers.
    valid = _matrix(table, valid_cols).sum(axis=1) if valid_cols else votes.sum(axis=1)
    # 2020 (referendum, a week of voting): Kobak's analysis (dkobak/elections analysis/2024/2024.ipynb,
    # loaddata) counts turnout from the ballots found in the boxes, not from the ballots issued.
    given_cols = _cols(table, "бюллетеней, содержащихся") if year == "2020" else given_cols
    given = _matrix(table, given_cols).sum(axis=1)
    leader = next(i for i, c in enumerate(cand_cols) if any(k in c for k in _RUSSIA_LEADERS + ("ДА",)))
    codes, regions = encode_regions(_strings(table, "region"))
    full = StationTable(
        name=f"russia-kobak:{year}",
        candidates=tuple(cand_cols),
        votes=votes,
        valid=valid,
        invalid=invalid,
        registered=registered,
        given=given,
        region=codes,
        region_names=regions,
        leader=leader,
        codes=_join(table, "region", "tik", "uik"),
        notes=(
            "Russian CEC protocols scraped by S. Shpilkin / I. Shukshin "
            "(github.com/dkobak/elections @8003707)",
        ),
    )
    return full if bool(ok.all()) else full.subset(ok)


def _first_candidate_index(names: list[str], year: str) -> int:
    if year in _RUSSIA_FIRST_CANDIDATE:
        return names.index(_RUSSIA_FIRST_CANDIDATE[year])
    protocol = [i for i, c in enumerate(names) if c.startswith("Число")]
    return max(protocol) + 1


def load_rozenas(part: str, data_dir: Path) -> StationTable:
    """The (N, t, v) data shipped with the ``spikes`` package: ``canada2011`` or ``russia2011``."""
    files = {"canada2011": "canada2011_N_t_v.csv.gz", "russia2011": "russia2011_N_t_v.csv.gz"}
    if part not in files:
        raise NotFoundError(f"no part {part!r} in rozenas-spikes", expected=", ".join(files), found=part)
    table = _read(data_dir / "rozenas-spikes" / files[part])
    n, t, v = (_ints(table, c) for c in ("N", "t", "v"))
    return StationTable(
        name=f"rozenas-spikes:{part}",
        candidates=("party", "others"),
        votes=np.column_stack([v, t - v]),
        valid=t.copy(),
        invalid=np.zeros_like(t),
        registered=n,
        given=t,
        leader=0,
        codes=tuple(f"{part} row {i + 1}" for i in range(n.size)),
        notes=(
            "spikes 1.1 (CRAN, GPL>=2) example data; v is the analysed party's votes, t the turnout; "
            "the package ships no station codes, so units are named by their row in its data",
        ),
    )


def load_uganda(part: str, data_dir: Path) -> StationTable:
    """Uganda presidential ``2011`` (EC conversion), ``2016`` or ``2021`` (UEDP); unreported dropped."""
    folder = data_dir / "uganda-uedp"
    if part == "2011":
        table = _read(folder / "ec_2011_results_converted.csv.gz")
        names = table.column_names
        cands = names[names.index("REGISTERED VOTERS") + 1 : names.index("VALID")]
        reg, valid, invalid, region = "REGISTERED VOTERS", "VALID", "INVALID", "DISTRICT NAME"
        unit_codes = _join(table, "DISTRICT NAME", "Original_Station_ID_2011", "PS NAME")
    elif part in ("2016", "2021"):
        table = _read(folder / f"uedp_{part}_stations.csv.gz")
        names = table.column_names
        start = names.index("F_31.up") + 1 if part == "2016" else names.index("Reg.Voters") + 1
        cands = names[start : names.index("V.Votes")]
        reg, valid, invalid, region = "Reg.Voters", "V.Votes", "Inv.Votes", "Dist_name_previous"
        unit_codes = _join(
            table, "Dist_name_previous", "Original_Station_ID_previous", "Station_string_previous"
        )
    else:
        raise NotFoundError(f"no part {part!r} in uganda-uedp", expected="2011, 2016, 2021", found=part)
    keep = _ints(table, "NON_REP") == 0
    votes = _matrix(table, cands)
    valid_a, invalid_a = _ints(table, valid), _ints(table, invalid)
    codes, regions = encode_regions(_strings(table, region))
    out = StationTable(
        name=f"uganda-uedp:{part}",
        candidates=tuple(cands),
        votes=votes,
        valid=valid_a,
        invalid=invalid_a,
        registered=_ints(table, reg),
        given=valid_a + invalid_a,
        region=codes,
        region_names=regions,
        codes=unit_codes,
        notes=(
            "EC Uganda results via IRI UEDP (github.com/bt-IRI/UEDP @d365e2f); turnout = valid + invalid",
        ),
    )
    return out.subset(keep)


def load_venezuela(part: str, data_dir: Path) -> StationTable:
    """Opposition-collected actas of 2024 (``v1``, 24,532 actas; no registered voters per mesa)."""
    if part not in ("v1", ""):
        raise NotFoundError(f"no part {part!r} in venezuela-2024-actas", expected="v1", found=part)
    table = _read(data_dir / "venezuela-2024-actas" / "resultadosconvzla_v1_2024.csv.gz")
    names = table.column_names
    state = next(c for c in names if c.endswith("Estado"))
    places = _join(table, state, "Municipio", "Parroquia")
    seen: dict[str, int] = {}
    unit_codes = []
    for place in places:  # v1 has no acta number: the n-th acta of its parish
        seen[place] = seen.get(place, 0) + 1
        unit_codes.append(f"{place} #{seen[place]}")
    votes = _matrix(table, ["egu", "nm", "otros"])
    codes, regions = encode_regions(_strings(table, state))
    return StationTable(
        name="venezuela-2024-actas:v1",
        candidates=("González", "Maduro", "others"),
        votes=votes,
        valid=_ints(table, "validos"),
        invalid=_ints(table, "nulos"),
        region=codes,
        region_names=regions,
        unit="acta",
        codes=tuple(unit_codes),
        notes=(
            "not official CNE data; authenticity unverified "
            "(github.com/zentraedi/2024-vzla-elections @325d2f4)",
        ),
    )


def load_albania(part: str, data_dir: Path) -> StationTable:
    """Albania 2013 parliamentary (EFToolkit example data), 5,508 stations; given = Ballots."""
    table = _read(data_dir / "albania-2013-eftoolkit" / "Albania2013.csv.gz")
    cands = [c for c in table.column_names if re.fullmatch(r"C\d{3}", c)]
    votes = _matrix(table, cands)
    valid = votes.sum(axis=1)
    ballots = _ints(table, "Ballots")
    codes, regions = encode_regions(_strings(table, "Prefectures"))
    return StationTable(
        name="albania-2013-eftoolkit",
        candidates=tuple(cands),
        votes=votes,
        valid=valid,
        invalid=np.maximum(ballots - valid, 0),
        registered=_ints(table, "Registered"),
        given=ballots,
        region=codes,
        region_names=regions,
        codes=_join(table, "Prefectures", "Communes", "Precincts"),
        notes=("EFToolkit @ca7b585 inst/extdata/Albania2013.csv (GPL-3 package; CEC data)",),
    )


def load_austria(part: str, data_dir: Path) -> StationTable:
    """Austrian Nationalrat by municipality: part ``ooe-YEAR`` or ``tirol-YEAR`` (clean reference)."""
    m = re.fullmatch(r"(ooe|tirol)-(\d{4})", part)
    if not m:
        raise NotFoundError(
            f"no part {part!r} in austria-nrw-ooe-tirol", expected="ooe-2008, tirol-2019, ...", found=part
        )
    land = "OOE" if m.group(1) == "ooe" else "Tirol"
    table = _read(data_dir / "austria-nrw-ooe-tirol" / f"NRW_{land}_{m.group(2)}.tsv", delimiter="\t")
    names = table.column_names
    gkz = [str(x) for x in table.column("GKZ").to_pylist()]
    keep = np.asarray([re.fullmatch(r"G?\d{5}", g) is not None and not g.endswith(("00", "99")) for g in gkz])
    cands = names[names.index("Gültige") + 1 :]
    codes, regions = encode_regions([g.lstrip("G")[:3] for g in gkz])
    out = StationTable(
        name=f"austria-nrw-ooe-tirol:{part}",
        candidates=tuple(cands),
        votes=_matrix(table, cands),
        valid=_ints(table, "Gültige"),
        invalid=_ints(table, "Ungültige"),
        registered=_ints(table, "Wahlberechtigte"),
        given=_ints(table, "Abgegebene"),
        region=codes,
        region_names=regions,
        unit="municipality",
        codes=tuple(f"{g.lstrip('G')} {n}" for g, n in zip(gkz, _strings(table, "Gebietsname"), strict=True)),
        notes=(
            "data.gv.at via github.com/ippon1/Nationalratswahl-Austria-Ergebnisse @2ca4bb0; "
            "postal votes excluded",
        ),
    )
    return out.subset(keep)


def load_dc2010(part: str, data_dir: Path) -> StationTable:
    """Washington DC 2010 mayoral primary, 143 precincts (eforensics example data)."""
    table = _read(data_dir / "dc2010-eforensics" / "dc2010.csv")
    valid = _ints(table, "NValid")
    gray = _ints(table, "Votes")
    return StationTable(
        name="dc2010-eforensics",
        candidates=("Gray", "others"),
        votes=np.column_stack([gray, valid - gray]),
        valid=valid,
        invalid=np.zeros_like(valid),
        registered=_ints(table, "NVoters"),
        given=valid,
        leader=0,
        unit="precinct",
        codes=tuple(_strings(table, "precinct")),
        notes=("eforensics_public @3017de5 data/dc2010.rda (MIT)",),
    )


_LOADERS: dict[str, tuple[Callable[[str, Path], StationTable], str]] = {
    "russia-kobak": (load_russia, "2011"),
    "rozenas-spikes": (load_rozenas, "canada2011"),
    "uganda-uedp": (load_uganda, "2011"),
    "venezuela-2024-actas": (load_venezuela, "v1"),
    "albania-2013-eftoolkit": (load_albania, ""),
    "austria-nrw-ooe-tirol": (load_austria, "ooe-2008"),
    "dc2010-eforensics": (load_dc2010, ""),
}
DATASETS = tuple(_LOADERS)


def load_dataset(spec: str, *, data_dir: Path | None = None) -> StationTable:
    """Load ``NAME[:PART]`` from the shared data folder (``POLLWATCH_DATA_DIR`` or ``--data-dir``)."""
    name, _, part = spec.partition(":")
    if name not in _LOADERS:
        raise NotFoundError(
            f"unknown dataset {name!r}",
            expected="one of " + ", ".join(DATASETS),
            found=name,
            remedy="use --election SLUG --db URL for an election in pollwatch's store",
        )
    loader, default = _LOADERS[name]
    try:
        return loader(part or default, shared_data_dir(data_dir))
    except (KeyError, ValueError, IndexError, StopIteration) as exc:
        raise DataError(f"{spec}: the file does not have the expected columns ({exc})") from exc
