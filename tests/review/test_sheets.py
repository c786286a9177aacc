"""Access-review sheets: written as XLSX, CSV and HTML, filled in, read back and checked.

Filling is done the way a reviewer's spreadsheet would: openpyxl edits the XLSX (dates as
date cells, numbers as floats, as LibreOffice saves them), and the CSV is edited as
text, with the padding and the encodings Excel writes.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from erpsync.errors import ReviewSheetError
from erpsync.review.model import Answer, Line, Sheet
from erpsync.review.sheets import read_filled, write_csv, write_html, write_xlsx

TODAY = dt.date(2026, 12, 3)
EDITED_ONLY = "only the decision, expires and comment cells may be edited"

LINES = (
    Line(1, "account", "li.na", "李娜", "销售部"),
    Line(
        2,
        "role",
        "li.na",
        "李娜",
        "销售部",
        "sales-clerk",
        "销售专员",
        "high; SOD-P2P-01",
        "sales.order:approve; sales.price:update",
        "role added",
    ),
    Line(3, "account", "zhang.wei", "张伟", "财务部", since_last_review="new"),
    Line(4, "role", "zhang.wei", "张伟", "财务部", "ap-clerk", "应付会计"),
    Line(5, "account", "chen.jie", '=HYPERLINK("http://x","<script>alert(1)</script>")', ""),
)
SHEET = Sheet(
    campaign="2026-q4",
    reviewer="wang.jianguo",
    reviewer_name="王建国",
    scope="department",
    started=dt.date(2026, 12, 1),
    due=dt.date(2026, 12, 31),
    lines=LINES,
)
SENT = {(SHEET.campaign, SHEET.reviewer): SHEET}


# --- XLSX ------------------------------------------------------------------------------


@pytest.fixture
def xlsx(tmp_path: Path) -> Path:
    path = tmp_path / "q4" / "wang.jianguo.xlsx"
    path.parent.mkdir()
    write_xlsx(SHEET, path)
    return path


def row_of(ws: Worksheet, line: int) -> int:
    """The spreadsheet row of a line (column A holds its number below the header)."""
    rows = [c.row for c in ws["A"] if c.value == line and c.row > 1]
    assert len(rows) == 1
    return rows[0]


def edit_xlsx(path: Path, change: Callable[[Worksheet], None], sheet: str = "Review") -> None:
    wb = load_workbook(path)
    change(wb[sheet])
    wb.save(path)


def fill(
    ws: Worksheet, line: int, decision: object, expires: object = None, comment: str = ""
) -> None:
    row = row_of(ws, line)
    ws[f"K{row}"], ws[f"L{row}"], ws[f"M{row}"] = decision, expires, comment or None


def refused(path: Path) -> str:
    with pytest.raises(ReviewSheetError) as info:
        read_filled(path, SENT, TODAY)
    return str(info.value)


def test_xlsx_round_trip_returns_one_answer_per_line(xlsx: Path) -> None:
    def decide(ws: Worksheet) -> None:
        fill(ws, 1, " Keep ", comment="仍在职")
        fill(ws, 2, "revoke")
        fill(ws, 3, "EXPIRE", dt.datetime(2027, 3, 31))
        fill(ws, 5, "revoke", comment="离职")

    edit_xlsx(xlsx, decide)
    filled = read_filled(xlsx, SENT, TODAY)
    assert filled.campaign == "2026-q4"
    assert filled.reviewer == "wang.jianguo"
    assert filled.digest == SHEET.digest()
    assert filled.source == str(xlsx)
    assert filled.answers == (
        Answer(1, "keep", None, "仍在职"),
        Answer(2, "revoke"),
        Answer(3, "expire", dt.date(2027, 3, 31)),
        Answer(4, None),
        Answer(5, "revoke", None, "离职"),
    )
    assert filled.decided == 4


def test_an_untouched_sheet_reads_as_undecided(xlsx: Path) -> None:
    filled = read_filled(xlsx, SENT, TODAY)
    assert [a.decision for a in filled.answers] == [None] * 5


def test_numbers_as_floats_and_dates_as_text_or_serials_are_read(xlsx: Path) -> None:
    def as_libreoffice(ws: Worksheet) -> None:
        for line in (1, 3, 5):
            ws[f"A{row_of(ws, line)}"] = float(line)
        fill(ws, 1, "expire", "2027-01-15")
        fill(ws, 3, "expire", 46401)  # the serial of 2027-01-14, in a cell formatted as a number
        ws[f"L{row_of(ws, 3)}"].number_format = "General"
        fill(ws, 5, "expire", "2026/12/03")  # as Chinese-locale Excel writes dates; today

    edit_xlsx(xlsx, as_libreoffice)
    answers = read_filled(xlsx, SENT, TODAY).answers
    assert [a.expires for a in answers if a.expires] == [
        dt.date(2027, 1, 15),
        dt.date(2027, 1, 14),
        dt.date(2026, 12, 3),
    ]


def test_each_decision_cell_has_a_drop_down_of_exactly_its_lines_decisions(xlsx: Path) -> None:
    ws = load_workbook(xlsx)["Review"]
    validations = ws.data_validations.dataValidation
    lists = [dv for dv in validations if dv.type == "list"]
    for line in LINES:
        cell = f"K{row_of(ws, line.number)}"
        covering = [dv for dv in lists if cell in dv.sqref]
        assert len(covering) == 1, cell
        expected = '"keep,revoke,expire"' if line.kind == "account" else '"keep,revoke"'
        assert covering[0].formula1 == expected
        assert covering[0].showErrorMessage
        assert not covering[0].showDropDown  # (True would hide the arrow, in Excel's terms)
    dates = [dv for dv in validations if dv.type == "date"]
    assert len(dates) == 1
    assert all(f"L{row_of(ws, line.number)}" in dates[0].sqref for line in LINES)
    assert dates[0].operator == "greaterThanOrEqual"


def test_sheet_is_protected_with_only_the_decision_cells_unlocked(xlsx: Path) -> None:
    wb = load_workbook(xlsx)
    ws = wb["Review"]
    assert ws.protection.sheet
    for line in LINES:
        row = row_of(ws, line.number)
        assert all(ws.cell(row, column).protection.locked for column in range(1, 11))
        assert not any(ws[f"{c}{row}"].protection.locked for c in "KLM")
    header = row_of(ws, 1) - 1
    assert [ws.cell(header, c).value for c in (1, 3, 11, 12, 13)] == [
        "Line",
        "Login",
        "Decision",
        "Expires",
        "Comment",
    ]
    assert ws.freeze_panes == f"A{header + 1}"
    assert ws["A1"].value == "Access review 2026-q4"
    assert "王建国" in ws["A2"].value
    assert ws.column_dimensions["D"].width >= 8  # names are readable
    meta = wb["erpsync"]
    assert meta.sheet_state == "veryHidden"
    assert dict(meta.iter_rows(values_only=True)) == {
        "erpsync-review": "1",
        "campaign": "2026-q4",
        "reviewer": "wang.jianguo",
        "digest": SHEET.digest(),
        "scope": "department",
        "started": "2026-12-01",
        "due": "2026-12-31",
        "lines": "5",
    }


def test_a_listed_cell_starting_with_equals_is_text_not_a_formula(xlsx: Path) -> None:
    ws = load_workbook(xlsx)["Review"]
    cell = ws[f"D{row_of(ws, 5)}"]
    assert cell.data_type == "s"
    assert cell.value == LINES[4].name
    assert "f>" not in zipfile.ZipFile(xlsx).read("xl/worksheets/sheet1.xml").decode()


def test_an_edited_login_is_refused_naming_row_and_column(xlsx: Path) -> None:
    row = row_of(load_workbook(xlsx)["Review"], 1)
    edit_xlsx(xlsx, lambda ws: ws.__setitem__(f"C{row}", "li.na2"))
    message = refused(xlsx)
    assert message == (
        f'{xlsx}: sheet Review, row {row}, column C (login): "li.na" was changed to '
        f'"li.na2"; {EDITED_ONLY}'
    )


def test_an_edited_chinese_name_is_refused(xlsx: Path) -> None:
    row = row_of(load_workbook(xlsx)["Review"], 3)
    edit_xlsx(xlsx, lambda ws: ws.__setitem__(f"D{row}", "张三"))
    assert f'row {row}, column D (name): "张伟" was changed to "张三"' in refused(xlsx)


def test_a_deleted_row_is_refused(xlsx: Path) -> None:
    row = row_of(load_workbook(xlsx)["Review"], 2)
    edit_xlsx(xlsx, lambda ws: ws.delete_rows(row))
    message = refused(xlsx)
    assert "5 lines were sent and 4 came back" in message
    assert f"line 2 (li.na 李娜, role 销售专员) is missing at row {row}" in message


def test_an_added_row_is_refused(xlsx: Path) -> None:
    def add(ws: Worksheet) -> None:
        ws.append(
            [6, "account", "zhao.lei", "赵磊", "销售部", None, None, None, None, None, "keep"]
        )

    edit_xlsx(xlsx, add)
    message = refused(xlsx)
    assert "5 lines were sent and 6 came back" in message
    assert "was added; rows may not be added or removed" in message


def test_a_comment_below_the_table_is_an_added_row(xlsx: Path) -> None:
    last = row_of(load_workbook(xlsx)["Review"], 5)
    edit_xlsx(xlsx, lambda ws: ws.__setitem__(f"M{last + 2}", "see mail"))
    assert f"row {last + 2} was added" in refused(xlsx)


def test_a_moved_column_is_refused(xlsx: Path) -> None:
    header = row_of(load_workbook(xlsx)["Review"], 1) - 1
    edit_xlsx(xlsx, lambda ws: ws.__setitem__(f"C{header}", "Name"))
    assert f'row {header}, column C: the header is "Name", not "Login"' in refused(xlsx)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("digest", "sha256:" + "0" * 64, "its metadata digest is"),
        ("lines", "4", 'its metadata lines is "4", not "5"'),
        ("scope", "role", 'its metadata scope is "role"'),
        (
            "campaign",
            "2026-q3",
            'no sheet was sent to reviewer "wang.jianguo" in campaign "2026-q3"',
        ),
        ("reviewer", "li.na", 'no sheet was sent to reviewer "li.na" in campaign "2026-q4"'),
        ("erpsync-review", "2", "is review-sheet format '2'; this erpsync reads '1'"),
    ],
)
def test_edited_metadata_is_refused(xlsx: Path, key: str, value: str, expected: str) -> None:
    def tamper(ws: Worksheet) -> None:
        ws.sheet_state = "visible"
        row = next(c.row for c in ws["A"] if c.value == key)
        ws[f"B{row}"] = value

    edit_xlsx(xlsx, tamper, sheet="erpsync")
    message = refused(xlsx)
    assert message.startswith(f"{xlsx}: ")
    assert expected in message


def test_an_unhidden_but_unedited_metadata_sheet_is_fine(xlsx: Path) -> None:
    edit_xlsx(xlsx, lambda ws: setattr(ws, "sheet_state", "visible"), sheet="erpsync")
    assert len(read_filled(xlsx, SENT, TODAY).answers) == 5


def test_a_sheet_whose_content_changed_since_it_was_sent_is_refused(xlsx: Path) -> None:
    resent = Sheet(**{**SHEET.__dict__, "lines": LINES[:4]})
    with pytest.raises(
        ReviewSheetError, match=r"its metadata digest is .* the metadata was edited"
    ):
        read_filled(xlsx, {(SHEET.campaign, SHEET.reviewer): resent}, TODAY)


@pytest.mark.parametrize(
    ("line", "decision", "expires", "column", "expected"),
    [
        (
            1,
            "approve",
            None,
            "K (decision)",
            '"approve" is not a decision for account line 1; the allowed values are '
            "keep, revoke or expire (or empty: not decided yet)",
        ),
        (
            2,
            "expire",
            dt.datetime(2027, 1, 1),
            "K (decision)",
            '"expire" is not a decision for role line 2; the allowed values are keep or revoke',
        ),
        (3, "expire", None, "K (decision)", "expire needs a date (YYYY-MM-DD)"),
        (
            3,
            "expire",
            dt.datetime(2026, 12, 2),
            "L (expires)",
            "2026-12-02 is in the past (today is 2026-12-03)",
        ),
        (1, "keep", dt.datetime(2027, 1, 1), "L (expires)", "goes only with the decision expire"),
        (4, "revoke", "2027-01-01", "L (expires)", "goes only with the decision expire"),
        (1, None, dt.datetime(2027, 1, 1), "L (expires)", "choose expire, or clear the date"),
        (
            1,
            "expire",
            "31/12/2026",
            "L (expires)",
            '"31/12/2026" is not a date; write it as YYYY-MM-DD',
        ),
        (1, "expire", "2026-02-30", "L (expires)", '"2026-02-30" is not a date'),
    ],
)
def test_a_bad_decision_is_refused_naming_row_and_column(
    xlsx: Path, line: int, decision: str | None, expires: object, column: str, expected: str
) -> None:
    row = row_of(load_workbook(xlsx)["Review"], line)
    edit_xlsx(xlsx, lambda ws: fill(ws, line, decision, expires))
    message = refused(xlsx)
    assert message.startswith(f"{xlsx}: sheet Review, row {row}, column {column}: ")
    assert expected in message


def test_a_workbook_without_the_review_sheet_is_refused(xlsx: Path) -> None:
    wb = load_workbook(xlsx)
    wb["Review"].title = "审阅"
    wb.save(xlsx)
    assert "has no worksheet 'Review' (it has 审阅, erpsync)" in refused(xlsx)


@pytest.mark.parametrize(
    "content",
    [b"PK\x03\x04 not really a zip", b"\x00\x01\x02binary", "李娜,keep\n".encode()],
)
def test_a_file_that_is_no_workbook_is_refused_clearly(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "wang.jianguo.xlsx"
    path.write_bytes(content)
    assert refused(path) == (
        f"{path}: is not a readable XLSX workbook (damaged, or another format renamed "
        ".xlsx); return the sheet as it was sent, saved as .xlsx"
    )


def test_a_zip_that_is_no_workbook_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "wang.jianguo.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "你好")
    assert "is not a readable XLSX workbook" in refused(path)


def test_other_suffixes_and_missing_files_are_refused(tmp_path: Path) -> None:
    assert "is an .xlsx or .csv file, not .ods" in refused(tmp_path / "a.ods")
    assert refused(tmp_path / "gone.xlsx").startswith(f"{tmp_path / 'gone.xlsx'}: cannot be read")
    assert refused(tmp_path / "gone.csv").startswith(f"{tmp_path / 'gone.csv'}: cannot be read")


# --- CSV -------------------------------------------------------------------------------


@pytest.fixture
def csv_path(tmp_path: Path) -> Path:
    path = tmp_path / "wang.jianguo.csv"
    write_csv(SHEET, path)
    return path


def edit_csv(
    path: Path, change: Callable[[list[list[str]]], None], encoding: str = "utf-8-sig"
) -> None:
    """Parse, change and write back the records, padded to one width as Excel saves them."""
    records = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))
    change(records)
    width = max(len(r) for r in records)
    out = io.StringIO()
    csv.writer(out).writerows(r + [""] * (width - len(r)) for r in records)
    path.write_bytes(out.getvalue().encode(encoding))


def record_of(records: list[list[str]], line: int) -> list[str]:
    found = [r for r in records if r and r[0] == str(line)]
    assert len(found) == 1
    return found[0]


def test_csv_starts_with_a_bom_and_metadata_rows(csv_path: Path) -> None:
    raw = csv_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf# erpsync-review,1\r\n# campaign,2026-q4\r\n")
    text = raw.decode("utf-8-sig")
    assert f"# digest,{SHEET.digest()}" in text
    assert "Line,Kind,Login,Name,Department,Role,Role name,Risk,High-risk permissions," in text
    assert "2,role,li.na,李娜,销售部,sales-clerk,销售专员,high; SOD-P2P-01," in text


def test_csv_round_trip_returns_the_answers(csv_path: Path) -> None:
    def decide(records: list[list[str]]) -> None:
        record_of(records, 1)[10:13] = ["keep", "", "在职，继续"]
        record_of(records, 2)[10:13] = ["REVOKE ", "", ""]
        record_of(records, 3)[10:13] = ["expire", "2027-03-31", ""]

    edit_csv(csv_path, decide)
    filled = read_filled(csv_path, SENT, TODAY)
    assert filled.answers == (
        Answer(1, "keep", None, "在职，继续"),
        Answer(2, "revoke"),
        Answer(3, "expire", dt.date(2027, 3, 31)),
        Answer(4, None),
        Answer(5, None),
    )


def test_csv_saved_by_chinese_excel_as_gb18030_is_read(csv_path: Path) -> None:
    edit_csv(csv_path, lambda rs: record_of(rs, 3).__setitem__(10, "revoke"), encoding="gb18030")
    assert read_filled(csv_path, SENT, TODAY).answers[2] == Answer(3, "revoke")


def test_csv_formula_injection_is_guarded_and_round_trips(tmp_path: Path) -> None:
    odd = (
        Line(1, "account", "-1", "+李娜", "@销售部"),
        Line(2, "account", "'quoted", "'=already", "=SUM(A1)"),
    )
    sheet = Sheet(
        **{
            **SHEET.__dict__,
            "lines": LINES
            + tuple(Line(6 + i, o.kind, o.login, o.name, o.department) for i, o in enumerate(odd)),
        }
    )
    path = tmp_path / "odd.csv"
    write_csv(sheet, path)
    text = path.read_text(encoding="utf-8-sig")
    assert '"\'=HYPERLINK(""http://x""' in text
    assert "6,account,'-1,'+李娜,'@销售部," in text
    assert "7,account,''quoted,''=already,'=SUM(A1)," in text
    # No cell a spreadsheet would evaluate: every formula start is behind an apostrophe.
    for record in csv.reader(io.StringIO(text)):
        assert not any(re.match(r"[=+\-@]", cell) for cell in record)
    filled = read_filled(path, {(sheet.campaign, sheet.reviewer): sheet}, TODAY)
    assert len(filled.answers) == 7


def test_csv_edited_login_is_refused_naming_row_and_column(csv_path: Path) -> None:
    edit_csv(csv_path, lambda rs: record_of(rs, 1).__setitem__(2, "li.na2"))
    records = list(csv.reader(io.StringIO(csv_path.read_text(encoding="utf-8-sig"))))
    row = records.index(record_of(records, 1)) + 1
    assert refused(csv_path) == (
        f'{csv_path}, row {row}, column C (login): "li.na" was changed to "li.na2"; {EDITED_ONLY}'
    )


def test_csv_unguarded_formula_cell_is_an_edit(csv_path: Path) -> None:
    edit_csv(csv_path, lambda rs: record_of(rs, 5).__setitem__(3, LINES[4].name[1:]))
    assert "column D (name)" in refused(csv_path)


def test_csv_deleted_row_and_edited_digest_are_refused(csv_path: Path) -> None:
    original = csv_path.read_bytes()
    edit_csv(csv_path, lambda rs: rs.remove(record_of(rs, 4)))
    assert "line 4 (zhang.wei 张伟, role 应付会计) is missing" in refused(csv_path)
    csv_path.write_bytes(original.replace(b"# digest,sha256:", b"# digest,sha256:0"))
    assert "its metadata digest is" in refused(csv_path)


def test_csv_bad_decision_is_refused(csv_path: Path) -> None:
    edit_csv(csv_path, lambda rs: record_of(rs, 4).__setitem__(10, "expire"))
    assert 'column K (decision): "expire" is not a decision for role line 4' in refused(csv_path)


def test_csv_without_metadata_or_binary_is_refused(tmp_path: Path) -> None:
    plain = tmp_path / "plain.csv"
    plain.write_text("Line,Kind,Login\n1,account,li.na\n", encoding="utf-8")
    assert "is not an erpsync review sheet (its metadata is missing)" in refused(plain)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    assert refused(binary) == f"{binary}: is not a CSV file (it holds binary data)"


# --- HTML ------------------------------------------------------------------------------


def test_html_lists_the_lines_escaped_and_says_where_decisions_go(tmp_path: Path) -> None:
    path = tmp_path / "wang.jianguo.html"
    write_html(SHEET, path)
    page = path.read_text(encoding="utf-8")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "李娜" in page
    assert "销售专员" in page
    assert "王建国 (wang.jianguo)" in page
    assert "wang.jianguo.xlsx or wang.jianguo.csv" in page
    assert "keep / revoke / expire" in page
    assert page.count("<tr class=") == len(LINES)


@pytest.mark.parametrize("write", [write_xlsx, write_csv])
def test_a_sheet_with_no_lines_round_trips(
    tmp_path: Path, write: Callable[[Sheet, Path], None]
) -> None:
    empty = Sheet(**{**SHEET.__dict__, "lines": (), "due": None})
    path = tmp_path / ("empty.xlsx" if write is write_xlsx else "empty.csv")
    write(empty, path)
    filled = read_filled(path, {(empty.campaign, empty.reviewer): empty}, TODAY)
    assert filled.answers == ()
