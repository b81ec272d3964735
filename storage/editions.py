"""Reading an edition of the official figures (the CSV layout of data/estadisticas/), checked
row by row before anything is stored."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

SHIPPED = Path(__file__).parent / "data" / "estadisticas"
METADATA = "edicion.json"

COUNTRY = "pais"  # kinds of place an estimate is about
REGION = "region"
COMUNA = "comuna"
REST = "resto"  # "Otras comunas": every comuna under 10,000 estimated foreigners, together
COUNTRY_CODE = "00"
UNKNOWN_REGION = "99"  # "Región Ignorada": foreigners whose region is not known

PERMITS = ("temporal", "definitiva")
STATES = ("acogidas", "otorgadas")

DEFAULTS = {
    "estimate_source": (
        "INE y SERMIG, Estimación de personas extranjeras residentes habituales en Chile"
    ),
    "estimate_url": "https://serviciomigraciones.cl/estudios-migratorios/estimaciones-de-extranjeros/",
    "permits_source": "SERMIG, datos abiertos de Residencia Temporal y Definitiva",
    "permits_url": "https://serviciomigraciones.cl/estudios-migratorios/datos-abiertos/",
}
MAX_PROBLEMS = 20


@dataclass(frozen=True)
class Problem:
    file: str
    line: int  # 1 is the header; 0 for the file as a whole
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}, line {self.line}" if self.line else self.file
        return f"{where}: {self.reason}"


class EditionError(ValueError):
    """A malformed edition: nothing of it may be stored."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass
class Edition:
    """An edition's metadata and its rows, keyed like the tables they go to."""

    name: str
    reference: date
    published: str | None
    sources: dict[str, str]
    digest: str
    estimates: list[dict[str, Any]] = field(default_factory=list)
    nationalities: list[dict[str, Any]] = field(default_factory=list)
    permits: list[dict[str, Any]] = field(default_factory=list)

    @property
    def row_count(self) -> int:
        return len(self.estimates) + len(self.nationalities) + len(self.permits)


class _Reader:
    """Collects problems across every file, so one run reports them all (up to a cap)."""

    def __init__(self, directory: Path, cuts: Collection[str], regions: Collection[str]) -> None:
        self.directory = directory
        self.cuts = cuts
        self.regions = regions
        self.problems: list[Problem] = []

    def fail(self, file: str, line: int, reason: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(file, line, reason))

    def rows(self, name: str, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
        path = self.directory / name
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            self.fail(name, 0, "file missing")
            return
        except (OSError, UnicodeDecodeError) as exc:
            self.fail(name, 0, f"cannot read: {exc}")
            return
        reader = csv.DictReader(text.splitlines())
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            self.fail(name, 1, f"missing column(s): {', '.join(missing)}")
            return
        for line, row in enumerate(reader, 2):
            if None in row or any(row.get(c) is None for c in columns):
                self.fail(name, line, "wrong number of fields")
                continue
            yield line, {c: (row[c] or "").strip() for c in columns}

    def count(self, file: str, line: int, value: str, column: str, *, blank: bool = False) -> Any:
        if blank and value == "":
            return None
        if not (value.isascii() and value.isdigit()) or len(value) > 12:
            self.fail(file, line, f"{column} is not a whole number: {value!r}")
            return None
        return int(value)

    def year(self, file: str, line: int, value: str) -> int | None:
        if not (value.isascii() and value.isdigit() and len(value) == 4):
            self.fail(file, line, f"year is not a year: {value!r}")
            return None
        return int(value)

    def cut(self, file: str, line: int, value: str) -> str | None:
        """A comuna's code, or the country's (00000), or "" for "Otras comunas"."""
        if value == "" or value == "00000":
            return value
        code = value.zfill(5) if value.isascii() and value.isdigit() else value
        if code not in self.cuts:
            self.fail(file, line, f"unknown comuna code (CUT) {value!r}")
            return None
        return code

    def region(self, file: str, line: int, value: str) -> str | None:
        code = value.zfill(2) if value.isascii() and value.isdigit() else value
        if code not in (COUNTRY_CODE, UNKNOWN_REGION) and code not in self.regions:
            self.fail(file, line, f"unknown region code {value!r}")
            return None
        return code


def _place(cut: str) -> tuple[str, str]:
    if cut == "00000":
        return COUNTRY, COUNTRY_CODE
    if cut == "":
        return REST, ""
    return COMUNA, cut


def read_edition(
    directory: Path,
    cuts: Collection[str],
    regions: Collection[str],
    *,
    name: str | None = None,
) -> Edition:
    """Parse and check an edition directory; raises EditionError listing file, line and
    reason of each problem found (nothing is half-read: it is all or nothing)."""
    r = _Reader(directory, cuts, regions)
    if not directory.is_dir():
        raise EditionError([Problem(str(directory), 0, "not a directory")])
    meta = _metadata(r)
    estimates: dict[tuple[str, str, int], dict[str, Any]] = {}
    nationalities: dict[tuple[str, str, int, str], dict[str, Any]] = {}
    permits: dict[tuple[str, int, str, str, str], dict[str, Any]] = {}

    def put(
        table: dict[Any, dict[str, Any]], key: Any, row: dict[str, Any], file: str, line: int
    ) -> None:
        if key in table:
            r.fail(file, line, "duplicate row")
        table[key] = row

    file = "estimacion_region.csv"
    for line, row in r.rows(
        file, ("region_code", "year", "censo_ajustado", "registros", "estimacion")
    ):
        code, year = r.region(file, line, row["region_code"]), r.year(file, line, row["year"])
        values = [
            r.count(file, line, row[c], c, blank=c != "estimacion")
            for c in ("censo_ajustado", "registros", "estimacion")
        ]
        if code is None or year is None or values[2] is None:
            continue
        if code == UNKNOWN_REGION:
            continue
        kind = COUNTRY if code == COUNTRY_CODE else REGION
        put(estimates, (kind, code, year), _estimate(kind, code, year, *values), file, line)

    file = "estimacion_comuna.csv"
    for line, row in r.rows(
        file, ("cut", "region_code", "year", "censo_ajustado", "registros", "estimacion")
    ):
        cut, year = r.cut(file, line, row["cut"]), r.year(file, line, row["year"])
        values = [
            r.count(file, line, row[c], c, blank=c != "estimacion")
            for c in ("censo_ajustado", "registros", "estimacion")
        ]
        if cut is None or year is None or values[2] is None or cut == "00000":
            continue  # the country's line repeats estimacion_region's
        kind, code = _place(cut)
        put(estimates, (kind, code, year), _estimate(kind, code, year, *values), file, line)

    file = "estimacion_comuna_sexo.csv"
    for line, row in r.rows(file, ("cut", "year", "hombres", "mujeres", "total")):
        cut, year = r.cut(file, line, row["cut"]), r.year(file, line, row["year"])
        men = r.count(file, line, row["hombres"], "hombres")
        women = r.count(file, line, row["mujeres"], "mujeres")
        total = r.count(file, line, row["total"], "total")
        if None in (cut, year, men, women, total):
            continue
        assert cut is not None and year is not None
        if men + women != total:
            r.fail(file, line, f"hombres + mujeres ({men + women}) is not total ({total})")
            continue
        found = estimates.get((*_place(cut), year))
        if found is None:
            r.fail(file, line, "no estimate for this place and year")
            continue
        found.update(men=men, women=women)

    file = "estimacion_region_pais.csv"
    for line, row in r.rows(file, ("region_code", "year", "pais", "estimacion")):
        code, year = r.region(file, line, row["region_code"]), r.year(file, line, row["year"])
        n = r.count(file, line, row["estimacion"], "estimacion")
        if code is None or year is None or n is None or code in (COUNTRY_CODE, UNKNOWN_REGION):
            continue  # the country's breakdown comes from estimacion_pais (more countries)
        if not row["pais"]:
            r.fail(file, line, "pais is empty")
            continue
        key = (REGION, code, year, row["pais"])
        put(nationalities, key, _nationality(*key, n), file, line)

    file = "estimacion_comuna_pais.csv"
    for line, row in r.rows(file, ("cut", "comuna", "year", "pais", "estimacion")):
        if row["cut"] == "" and "ignorad" in row["comuna"].casefold():
            continue  # foreigners whose comuna is not known: no place to show them under
        cut, year = r.cut(file, line, row["cut"]), r.year(file, line, row["year"])
        n = r.count(file, line, row["estimacion"], "estimacion")
        if cut is None or year is None or n is None or cut == "00000":
            continue
        if not row["pais"]:
            r.fail(file, line, "pais is empty")
            continue
        key = (*_place(cut), year, row["pais"])
        put(nationalities, key, _nationality(*key, n), file, line)

    file = "estimacion_pais.csv"
    for line, row in r.rows(file, ("pais", "year", "estimacion")):
        year = r.year(file, line, row["year"])
        n = r.count(file, line, row["estimacion"], "estimacion")
        if year is None or n is None or row["pais"].casefold() == "total país":
            continue
        if not row["pais"]:
            r.fail(file, line, "pais is empty")
            continue
        key = (COUNTRY, COUNTRY_CODE, year, row["pais"])
        put(nationalities, key, _nationality(*key, n), file, line)

    permit_files = sorted(p.name for p in directory.glob("permisos_comuna_*.csv"))
    if not permit_files and directory.is_dir():
        r.fail("permisos_comuna_AAAA.csv", 0, "file missing")
    for file in permit_files:
        columns = ("cut", "region_code", "year", "permiso", "estado", "pais", "n")
        for line, row in r.rows(file, columns):
            cut, year = r.cut(file, line, row["cut"]), r.year(file, line, row["year"])
            n = r.count(file, line, row["n"], "n")
            if row["permiso"] not in PERMITS:
                r.fail(file, line, f"permiso must be temporal or definitiva: {row['permiso']!r}")
                continue
            if row["estado"] not in STATES:
                r.fail(file, line, f"estado must be acogidas or otorgadas: {row['estado']!r}")
                continue
            if cut in (None, "", "00000") or year is None or n is None:
                if cut in ("", "00000"):
                    r.fail(file, line, "permits need a comuna code")
                continue
            assert cut is not None
            pkey = (cut, year, row["permiso"], row["estado"], row["pais"])
            permit = {
                "cut": cut,
                "year": year,
                "permit": row["permiso"],
                "state": row["estado"],
                "country": row["pais"],
                "n": n,
            }
            put(permits, pkey, permit, file, line)

    if not any(k[0] == COUNTRY for k in estimates) and not r.problems:
        r.fail("estimacion_region.csv", 0, "no national total (region_code 00)")
    if r.problems:
        raise EditionError(r.problems)
    last_year = max(year for _, _, year in estimates)
    reference = _reference(r, meta, last_year)
    if r.problems:
        raise EditionError(r.problems)
    return Edition(
        name=name or str(meta.get("name") or f"INE–SERMIG, estimación al 31-12-{last_year}"),
        reference=reference,
        published=str(meta["published"]) if meta.get("published") else None,
        sources={k: str(meta.get(k) or v) for k, v in DEFAULTS.items()},
        digest=_digest(directory, permit_files),
        estimates=list(estimates.values()),
        nationalities=list(nationalities.values()),
        permits=list(permits.values()),
    )


def _estimate(
    kind: str, code: str, year: int, census: int | None, records: int | None, total: int
) -> dict[str, Any]:
    return {
        "kind": kind,
        "code": code,
        "year": year,
        "census": census,
        "records": records,
        "total": total,
        "men": None,
        "women": None,
    }


def _nationality(kind: str, code: str, year: int, country: str, n: int) -> dict[str, Any]:
    return {"kind": kind, "code": code, "year": year, "country": country, "total": n}


def _metadata(r: _Reader) -> dict[str, Any]:
    path = r.directory / METADATA
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        r.fail(METADATA, 0, f"not valid JSON: {exc}")
        return {}
    if not isinstance(data, dict):
        r.fail(METADATA, 0, "must be a JSON object")
        return {}
    return data


def _reference(r: _Reader, meta: dict[str, Any], last_year: int) -> date:
    raw = meta.get("reference")
    if raw is None:
        return date(last_year, 12, 31)
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        r.fail(METADATA, 0, f"reference must be YYYY-MM-DD: {raw!r}")
        return date(last_year, 12, 31)


def _digest(directory: Path, permit_files: list[str]) -> str:
    """The figures' fingerprint (the CSVs, not the metadata): the same files imported again,
    with or without a name, change nothing."""
    h = hashlib.sha256()
    names = [
        "estimacion_region.csv",
        "estimacion_comuna.csv",
        "estimacion_comuna_sexo.csv",
        "estimacion_region_pais.csv",
        "estimacion_comuna_pais.csv",
        "estimacion_pais.csv",
        *permit_files,
    ]
    for name in names:
        path = directory / name
        if path.exists():
            h.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()
