"""Access-review sheets as files for reviewers, and the filled ones read back and checked.

A campaign sends each reviewer their :class:`~erpsync.review.model.Sheet` as

- XLSX (:func:`write_xlsx`): a protected worksheet "Review" where only the decision,
  expires and comment cells can be edited, each decision cell a drop-down of exactly that
  line's decisions, and a very hidden worksheet "erpsync" holding the metadata (format,
  campaign, reviewer, digest, scope, dates, line count);
- CSV (:func:`write_csv`): UTF-8 with a byte order mark, the same metadata in leading rows
  whose first cell starts with ``#`` (``# campaign``, ``2026-q4``), then the header row and
  one row per line; a listed cell a spreadsheet would take for a formula gets a leading
  ``'`` (as erpsync's report CSV does), taken off again when read;
- HTML (:func:`write_html`): a static page to read, saying decisions go back in the XLSX
  or CSV.

:func:`read_filled` reads a returned .xlsx or .csv, finds the sheet that was sent to that
reviewer in that campaign, and refuses it, naming the file, the worksheet, the row as the
spreadsheet shows it and the column, when anything but the decision cells was changed, a
row was added or removed, or a decision is not one the line allows. Metadata is checked
against the sent sheet (its digest covers the campaign, the reviewer and every listed
cell), so an edited or unhidden-and-edited "erpsync" worksheet is refused too. Files may
come back from Excel, WPS or LibreOffice: numbers (``3.0``) and date cells are read as the
text and dates they stand for.

openpyxl is imported only by the functions that read or write XLSX.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import gettext
import io
import json
import re
import unicodedata
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from erpsync import __version__
from erpsync.errors import ReviewSheetError
from erpsync.i18n import CHINESE, DOMAIN, LOCALE_DIR, N_, _, language
from erpsync.render.report_csv import BOM, FORMULA_START
from erpsync.render.templating import template
from erpsync.review.model import (
    DECISION_COLUMNS,
    LISTED_COLUMNS,
    Answer,
    Filled,
    Line,
    Sheet,
)

FORMAT = "1"
REVIEW_TITLE = "Review"
META_TITLE = "erpsync"
FORMAT_KEY = "erpsync-review"  # the first metadata key; its value is the format
COLUMNS: tuple[str, ...] = LISTED_COLUMNS + DECISION_COLUMNS
DECISION, EXPIRES, COMMENT = (len(LISTED_COLUMNS) + i for i in range(3))
# The header a person reads for each column, written in the language of the run; a
# returned sheet is read with its headers in English or in Chinese (see _column_of).
LABELS: dict[str, str] = {
    "line": N_("Line"),
    "kind": N_("Kind"),
    "login": N_("Login"),
    "name": N_("Name"),
    "department": N_("Department"),
    "role": N_("Role"),
    "role_name": N_("Role name"),
    "risk": N_("Risk"),
    "high_risk_permissions": N_("High-risk permissions"),
    "since_last_review": N_("Since last review"),
    "decision": N_("Decision"),
    "expires": N_("Expires"),
    "comment": N_("Comment"),
}
# Decisions are machine values (keep, revoke, expire: the drop-down offers exactly these);
# a reviewer who types the Chinese word instead is understood too.
DECISION_WORDS: dict[str, str] = {"保留": "keep", "撤销": "revoke", "到期": "expire"}
# The metadata compared with the sent sheet; started and due are shown, not checked (the
# sent sheet is authoritative, and a CSV opened in Excel comes back with dates rewritten).
CHECKED_META = (FORMAT_KEY, "campaign", "reviewer", "digest", "scope", "lines")
INSTRUCTIONS = (
    N_(
        "Decide each line: choose keep, revoke or expire in the Decision column; "
        "leave it empty if you cannot decide yet."
    ),
    N_(
        "Account lines are the person's account: keep it, revoke it (the account is "
        "deactivated), or expire it on the date you enter in Expires (YYYY-MM-DD, not in "
        "the past)."
    ),
    N_("Role lines are a role the person holds: keep it or revoke it (no date)."),
    N_(
        "Only the Decision, Expires and Comment cells may be edited: do not add, delete, sort "
        "or change rows, then return the file."
    ),
)
EDITABLE_FILL = "FFF2CC"
HEADER_FILL = "DDEBF7"


def label(column: str) -> str:
    """The header a person reads for a column ("Role name" for ``role_name``), in the
    language of the run."""
    return _(LABELS.get(column, column.replace("_", " ").capitalize()))


def instructions() -> list[str]:
    """How to answer, in the language of the run."""
    return [_(text) for text in INSTRUCTIONS]


def metadata(sheet: Sheet) -> dict[str, str]:
    """What a written sheet records about itself, as text, in order."""
    return {
        FORMAT_KEY: FORMAT,
        "campaign": sheet.campaign,
        "reviewer": sheet.reviewer,
        "digest": sheet.digest(),
        "scope": sheet.scope,
        "started": sheet.started.isoformat(),
        "due": sheet.due.isoformat() if sheet.due else "",
        "lines": str(len(sheet.lines)),
    }


def title_block(sheet: Sheet) -> list[str]:
    """The lines above the table: what, for whom, by when, and how to answer."""
    by = _("by department") if sheet.scope == "department" else _("by role")
    if sheet.due:
        scope = _("Scope: {scope}; started {started}; please return it by {due}").format(
            scope=by, started=sheet.started.isoformat(), due=sheet.due.isoformat()
        )
    else:
        scope = _("Scope: {scope}; started {started}").format(
            scope=by, started=sheet.started.isoformat()
        )
    return [
        _("Access review {campaign}").format(campaign=sheet.campaign),
        _("Reviewer: {name} ({reviewer})").format(
            name=sheet.reviewer_name, reviewer=sheet.reviewer
        ),
        scope,
        *instructions(),
    ]


# --- writing ---------------------------------------------------------------------------


def write_xlsx(sheet: Sheet, path: Path) -> None:
    """Write the sheet as a protected workbook with a drop-down on each decision cell."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill, Protection
    from openpyxl.utils import get_column_letter
    from openpyxl.workbook.protection import WorkbookProtection

    wb = Workbook()
    wb.properties.creator = f"erpsync {__version__}"
    wb.properties.title = _("Access review {campaign}: {reviewer}").format(
        campaign=sheet.campaign, reviewer=sheet.reviewer
    )
    ws = wb.active
    ws.title = REVIEW_TITLE
    for text in title_block(sheet):
        ws.append([text])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([])
    ws.append([label(c) for c in COLUMNS])
    header = ws.max_row
    for cell in ws[header]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor=HEADER_FILL)
    editable = PatternFill("solid", fgColor=EDITABLE_FILL)
    for line in sheet.lines:
        ws.append([line.number, *(v or None for v in line.listed()[1:]), None, None, None])
        for cell in ws[ws.max_row]:
            if cell.data_type == "f":  # listed text that starts with "=" is text
                cell.data_type = "s"
            if cell.column > len(LISTED_COLUMNS):
                cell.protection = Protection(locked=False)
                cell.fill = editable
        ws.cell(ws.max_row, EXPIRES + 1).number_format = "yyyy-mm-dd"

    first = header + 1
    _add_validations(ws, sheet, first)

    for index, column in enumerate(COLUMNS):
        listed = index < len(LISTED_COLUMNS)
        texts = [label(column), *(line.listed()[index] for line in sheet.lines if listed)]
        width = max(_width(t) for t in texts) + 2
        minimum = {"decision": 12, "expires": 12, "comment": 40}.get(column, 6)
        ws.column_dimensions[get_column_letter(index + 1)].width = min(max(width, minimum), 50)
    ws.freeze_panes = f"A{first}"
    ws.print_title_rows = f"{header}:{header}"
    ws.protection.sheet = True
    ws.protection.formatColumns = False  # widening a column is fine
    ws.protection.formatRows = False

    meta = wb.create_sheet(META_TITLE)
    for key, value in metadata(sheet).items():
        meta.append([key, value])
    meta.sheet_state = "veryHidden"
    meta.protection.sheet = True
    wb.security = WorkbookProtection(lockStructure=True)
    wb.save(path)


def _add_validations(ws: Any, sheet: Sheet, first: int) -> None:
    """A drop-down of each line's decisions on its decision cell (one validation per set
    of decisions, over runs of rows) and a date check on the expires cells."""
    from openpyxl.utils import get_column_letter
    from openpyxl.utils.datetime import to_excel
    from openpyxl.worksheet.datavalidation import DataValidation

    last = first + len(sheet.lines) - 1
    decision, expires = get_column_letter(DECISION + 1), get_column_letter(EXPIRES + 1)
    for allowed in sorted({line.allowed for line in sheet.lines}, key=len, reverse=True):
        dv = DataValidation(
            type="list",
            formula1='"' + ",".join(allowed) + '"',
            allow_blank=True,
            showErrorMessage=True,
            errorTitle=label("decision"),
            error=_("Choose {decisions}, or leave the cell empty.").format(decisions=_or(allowed)),
            showInputMessage=True,
            promptTitle=label("decision"),
            prompt=_("{decisions}; empty: not decided yet").format(decisions=_or(allowed)),
        )
        ws.add_data_validation(dv)
        rows = [r for r, line in enumerate(sheet.lines, first) if line.allowed == allowed]
        for start, end in _runs(rows):
            dv.add(f"{decision}{start}:{decision}{end}")
    if sheet.lines:
        dates = DataValidation(
            type="date",
            operator="greaterThanOrEqual",
            formula1=str(int(to_excel(sheet.started))),
            allow_blank=True,
            showErrorMessage=True,
            errorTitle=label("expires"),
            error=_("Enter a date (YYYY-MM-DD), not in the past, on a line decided expire."),
        )
        ws.add_data_validation(dates)
        dates.add(f"{expires}{first}:{expires}{last}")


def write_csv(sheet: Sheet, path: Path) -> None:
    """Write the sheet as CSV: metadata rows starting with ``#``, the header, the lines."""
    out = io.StringIO()
    writer = csv.writer(out)
    for key, value in metadata(sheet).items():
        writer.writerow([f"# {key}", _guard(value)])
    writer.writerows([f"# {text}"] for text in title_block(sheet))
    writer.writerow([label(c) for c in COLUMNS])
    for line in sheet.lines:
        writer.writerow([*(_guard(v) for v in line.listed()), "", "", ""])
    path.write_text(BOM + out.getvalue(), encoding="utf-8", newline="")


def write_html(sheet: Sheet, path: Path) -> None:
    """Write a self-contained page listing the sheet's lines for the reviewer to read."""
    page = _template().render(
        sheet=sheet,
        title=_("Access review {campaign}: {reviewer}").format(
            campaign=sheet.campaign, reviewer=sheet.reviewer_name
        ),
        instructions=instructions(),
        headers=[label(c) for c in LISTED_COLUMNS] + [_("Decisions")],
        rows=[[*line.listed(), " / ".join(line.allowed)] for line in sheet.lines],
        stem=sheet.file_stem,
        version=__version__,
        lang="zh-CN" if language() == CHINESE else "en",
    )
    path.write_text(page, encoding="utf-8")


def _template() -> jinja2.Template:
    return template("review_sheet.html.j2", autoescape=True)


def _guard(text: str) -> str:
    """A CSV cell that opens as text: ``'`` before a formula start (or an ``'``, so that
    :func:`_unguard` can tell the two apart)."""
    return "'" + text if text.startswith((*FORMULA_START, "'")) else text


def _unguard(text: str) -> str:
    return text[1:] if text.startswith("'") and text[1:].startswith((*FORMULA_START, "'")) else text


def _runs(rows: Sequence[int]) -> list[tuple[int, int]]:
    """Consecutive row numbers as (first, last) ranges: a short data-validation range."""
    runs: list[tuple[int, int]] = []
    for row in rows:
        if runs and runs[-1][1] == row - 1:
            runs[-1] = (runs[-1][0], row)
        else:
            runs.append((row, row))
    return runs


def _width(text: str) -> int:
    """Display width: Chinese characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _or(values: Sequence[str], said: bool = True) -> str:
    """``keep, revoke or expire``: the values stay as they are; the words are in the
    language of the run when ``said``, else in English (for messages that are data)."""
    if len(values) < 2:
        return values[0]
    comma, word = (_(", "), _(" or ")) if said else (", ", " or ")
    return comma.join(values[:-1]) + word + values[-1]


# --- reading ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Grid:
    """A returned sheet's cells, whatever the format: listed cells as text, decision
    cells as read (a date cell stays a date); rows numbered as the spreadsheet shows."""

    where: str  # "q4/x.xlsx: sheet Review", or the CSV file's name
    meta: dict[str, str]
    header: tuple[int, list[str]]
    rows: list[tuple[int, list[Any]]]


def read_filled(path: Path, sent: Mapping[tuple[str, str], Sheet], today: dt.date) -> Filled:
    """Read a returned .xlsx or .csv sheet, check it against the one sent, and return the
    reviewer's answers; raise :class:`ReviewSheetError` naming the file, row and column
    of the first problem."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        grid = _read_xlsx(path)
    elif suffix == ".csv":
        grid = _read_csv(path)
    else:
        raise ReviewSheetError(
            N_("{file}: a returned review sheet is an .xlsx or .csv file, not {suffix}").format(
                file=path, suffix=suffix or "this"
            )
        )
    sheet = _sent_sheet(path, grid.meta, sent)
    _check_header(grid)
    _check_rows(grid, sheet)
    answers = tuple(
        _answer(grid.where, row, line, cells, today)
        for line, (row, cells) in zip(sheet.lines, grid.rows, strict=True)
    )
    return Filled(str(path), sheet.campaign, sheet.reviewer, sheet.digest(), answers)


def _read_xlsx(path: Path) -> _Grid:
    from openpyxl import load_workbook
    from openpyxl.utils.datetime import from_excel

    try:
        with warnings.catch_warnings():  # openpyxl warns of extensions it drops: harmless
            warnings.simplefilter("ignore")
            wb = load_workbook(path, data_only=False)
    except OSError as exc:
        raise ReviewSheetError(_unreadable(path, exc)) from None
    except Exception:  # a damaged file fails in any of openpyxl's zip and XML parsers
        raise ReviewSheetError(
            N_(
                "{file}: is not a readable XLSX workbook (damaged, or another format renamed "
                ".xlsx); return the sheet as it was sent, saved as .xlsx"
            ).format(file=path)
        ) from None
    names = wb.sheetnames
    for title in (REVIEW_TITLE, META_TITLE):
        if title not in names:
            raise ReviewSheetError(
                N_(
                    "{file}: has no worksheet {title} (it has {names}); return the sheet as "
                    "it was sent, with only decisions filled in"
                ).format(file=path, title=repr(title), names=", ".join(names))
            )
    meta = {
        _text(key).strip(): _text(value).strip()
        for key, value, *_ in wb[META_TITLE].iter_rows(max_col=2, values_only=True)
        if key is not None
    }
    where = f"{path}: sheet {REVIEW_TITLE}"
    rows = [
        (number, list(values))
        for number, values in enumerate(
            wb[REVIEW_TITLE].iter_rows(max_col=len(COLUMNS), values_only=True), 1
        )
    ]
    at = next((i for i, (_, cells) in enumerate(rows) if _is_header(cells)), None)
    if at is None:
        raise ReviewSheetError(_no_header(where))
    body: list[tuple[int, list[Any]]] = []
    for number, values in rows[at + 1 :]:
        cells = values + [None] * (len(COLUMNS) - len(values))
        listed = [_text(v) for v in cells[: len(LISTED_COLUMNS)]]
        expires = cells[EXPIRES]
        if isinstance(expires, int | float) and not isinstance(expires, bool):
            try:  # a date in a cell formatted as a number
                expires = from_excel(expires)
            except (ValueError, OverflowError):
                expires = _text(expires)
        body.append((number, [*listed, cells[DECISION], expires, cells[COMMENT]]))
    header = (rows[at][0], [_text(v) for v in rows[at][1]])
    return _Grid(where, meta, header, _trimmed(body))


def _read_csv(path: Path) -> _Grid:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReviewSheetError(_unreadable(path, exc)) from None
    if b"\0" in data:
        raise ReviewSheetError(
            N_("{file}: is not a CSV file (it holds binary data)").format(file=path)
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:  # Excel's plain "CSV" in a Chinese locale
        text = data.decode("gb18030", errors="replace")
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise ReviewSheetError(
            N_("{file}: is not a readable CSV file: {error}").format(file=path, error=exc)
        ) from None
    meta: dict[str, str] = {}
    header: tuple[int, list[str]] | None = None
    body: list[tuple[int, list[Any]]] = []
    for number, record in enumerate(records, 1):
        cells = _rstrip(record)
        if header is None:
            if cells and cells[0].startswith("#"):
                if len(cells) > 1:
                    meta.setdefault(cells[0][1:].strip(), _unguard(",".join(cells[1:]).strip()))
            elif cells:
                header = (number, cells)
            continue
        cells = cells + [""] * (len(COLUMNS) - len(cells))
        body.append(
            (number, [_unguard(c) for c in cells[: len(LISTED_COLUMNS)]] + cells[DECISION:])
        )
    if header is None or not _is_header(header[1]):
        raise ReviewSheetError(_no_header(str(path)))
    return _Grid(str(path), meta, header, _trimmed(body))


def _sent_sheet(
    path: Path, meta: Mapping[str, str], sent: Mapping[tuple[str, str], Sheet]
) -> Sheet:
    if FORMAT_KEY not in meta:
        raise ReviewSheetError(
            N_(
                "{file}: is not an erpsync review sheet (its metadata is missing); return the "
                "sheet as it was sent, with only decisions filled in"
            ).format(file=path)
        )
    if meta[FORMAT_KEY] != FORMAT:
        raise ReviewSheetError(
            N_("{file}: is review-sheet format {found}; this erpsync reads {known}").format(
                file=path, found=repr(meta[FORMAT_KEY]), known=repr(FORMAT)
            )
        )
    key = (meta.get("campaign", ""), meta.get("reviewer", ""))
    sheet = sent.get(key)
    if sheet is None:
        raise ReviewSheetError(
            N_("{file}: no sheet was sent to reviewer {reviewer} in campaign {campaign}").format(
                file=path, reviewer=_q(key[1]), campaign=_q(key[0])
            )
        )
    expected = metadata(sheet)
    for name in CHECKED_META:
        if meta.get(name, "") != expected[name]:
            raise ReviewSheetError(
                N_(
                    "{file}: its metadata {name} is {found}, not {sent} as sent to {reviewer} "
                    "in {campaign}: the metadata was edited, or this is an older copy; return "
                    "the sheet last sent"
                ).format(
                    file=path,
                    name=name,
                    found=_q(meta.get(name, "")),
                    sent=_q(expected[name]),
                    reviewer=sheet.reviewer,
                    campaign=sheet.campaign,
                )
            )
    return sheet


def _check_header(grid: _Grid) -> None:
    row, cells = grid.header
    cells = cells + [""] * (len(COLUMNS) - len(cells))
    for index, column in enumerate(COLUMNS):
        if _column_of(cells[index]) != column:
            raise ReviewSheetError(
                N_(
                    "{where}, row {row}, column {column}: the header is {found}, not {wanted}; "
                    "columns may not be moved, added or removed"
                ).format(
                    where=grid.where,
                    row=row,
                    column=_letter(index),
                    found=_q(cells[index]),
                    wanted=_q(_(LABELS[column])),
                )
            )


def _check_rows(grid: _Grid, sheet: Sheet) -> None:
    lines, rows = sheet.lines, grid.rows
    if len(rows) != len(lines):
        at = next(
            (
                i
                for i, (line, (_, cells)) in enumerate(zip(lines, rows, strict=False))
                if cells[0] != str(line.number)
            ),
            min(len(lines), len(rows)),
        )
        row = rows[at][0] if at < len(rows) else (rows[-1][0] + 1 if rows else grid.header[0] + 1)
        if len(rows) < len(lines):
            what = N_("line {line} is missing at row {row}").format(
                line=_describe(lines[at]), row=row
            )
        else:  # the first added row that holds something
            row = next(r for r, cells in rows[at:] if any(_text(v).strip() for v in cells))
            what = N_("row {row} was added").format(row=row)
        raise ReviewSheetError(
            N_(
                "{where}: {sent} lines were sent and {back} came back: {problem}; rows may not "
                "be added or removed"
            ).format(where=grid.where, sent=len(lines), back=len(rows), problem=what)
        )
    for line, (row, cells) in zip(lines, rows, strict=True):
        for index, (want, got) in enumerate(zip(line.listed(), cells, strict=False)):
            if want != got:
                raise ReviewSheetError(
                    N_(
                        "{where}, row {row}, column {column} ({key}): {sent} was changed to "
                        "{found}; only the decision, expires and comment cells may be edited"
                    ).format(
                        where=grid.where,
                        row=row,
                        column=_letter(index),
                        key=COLUMNS[index],
                        sent=_q(want),
                        found=_q(got),
                    )
                )


def _answer(where: str, row: int, line: Line, cells: Sequence[Any], today: dt.date) -> Answer:
    def fail(index: int, why: str) -> ReviewSheetError:
        return ReviewSheetError(
            N_("{where}, row {row}, column {column} ({key}): {problem}").format(
                where=where, row=row, column=_letter(index), key=COLUMNS[index], problem=why
            )
        )

    written = _text(cells[DECISION]).strip()
    word = DECISION_WORDS.get(written, written.lower())
    decision = next((d for d in line.allowed if d == word), None)
    if written and decision is None:
        raise fail(
            DECISION,
            N_(
                "{value} is not a decision for {kind} line {line}; the allowed values are "
                "{allowed} (or empty: not decided yet)"
            ).format(
                value=_q(written),
                kind=line.kind,
                line=line.number,
                allowed=_or(line.allowed, said=False),
            ),
        )
    expires = _date(cells[EXPIRES], fail)
    if expires is not None and decision != "expire":
        raise fail(
            EXPIRES,
            (
                N_(
                    "a date ({date}) goes only with the decision expire; choose expire, or "
                    "clear the date"
                )
                if decision is None
                else N_("a date ({date}) goes only with the decision expire; clear the date")
            ).format(date=expires.isoformat()),
        )
    if decision == "expire":
        if expires is None:
            raise fail(DECISION, N_("expire needs a date (YYYY-MM-DD) in the expires column"))
        if expires < today:
            raise fail(
                EXPIRES,
                N_("{date} is in the past (today is {today}); choose today or a later date").format(
                    date=expires.isoformat(), today=today.isoformat()
                ),
            )
    return Answer(line.number, decision, expires, _text(cells[COMMENT]).strip())


_DATE = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[ T]00:00(?::00)?)?")


def _date(value: Any, fail: Callable[[int, str], ReviewSheetError]) -> dt.date | None:
    """A date cell, or text as YYYY-MM-DD (YYYY/MM/DD, as Chinese-locale Excel saves)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _text(value).strip()
    if not text:
        return None
    match = _DATE.fullmatch(text)
    try:
        if match:
            return dt.date(*(int(part) for part in match.groups()))
    except ValueError:
        pass
    raise fail(EXPIRES, N_("{value} is not a date; write it as YYYY-MM-DD").format(value=_q(text)))


def _text(value: Any) -> str:
    """A cell as the text it shows: 3.0 is "3", a midnight datetime its date."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _key(header: str) -> str:
    """A header as a column key: "High-risk permissions" is ``high_risk_permissions``."""
    return re.sub(r"[\s\-]+", "_", header.strip().lower())


@functools.cache
def _header_columns() -> dict[str, str]:
    """Every header a returned sheet may carry, as a key, and its column: the column's
    name, its English label and its Chinese one (a sheet written in either language is
    read back in the other)."""
    chinese = gettext.translation(DOMAIN, LOCALE_DIR, languages=[CHINESE], fallback=True)
    found: dict[str, str] = {}
    for column, text in LABELS.items():
        for header in (column, text, chinese.gettext(text)):
            found[_key(header)] = column
    return found


def _column_of(header: Any) -> str:
    """The column a header names (whatever the language it was written in), else the
    header as a key."""
    key = _key(_text(header))
    return _header_columns().get(key, key)


def _is_header(cells: Sequence[Any]) -> bool:
    return len(cells) > 1 and _column_of(cells[0]) == "line" and _column_of(cells[1]) == "kind"


def _unreadable(path: Path, exc: OSError) -> str:
    return N_("{file}: cannot be read: {error}").format(file=path, error=exc.strerror or exc)


def _no_header(where: str) -> str:
    return N_("{where}: the header row (Line, Kind, Login, ...) is missing").format(where=where)


def _rstrip(cells: list[str]) -> list[str]:
    """Without the empty cells Excel pads short rows with."""
    while cells and not cells[-1].strip():
        cells = cells[:-1]
    return cells


def _trimmed(rows: list[tuple[int, list[Any]]]) -> list[tuple[int, list[Any]]]:
    """Without the trailing rows that hold nothing."""
    while rows and all(_text(v).strip() == "" for v in rows[-1][1]):
        rows = rows[:-1]
    return rows


def _letter(index: int) -> str:
    return chr(ord("A") + index)


def _describe(line: Line) -> str:
    role = f", role {line.role_name or line.role}" if line.role else ""
    return f"{line.number} ({line.login} {line.name}{role})"


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)
