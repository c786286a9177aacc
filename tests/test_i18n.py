"""Output for people in Simplified Chinese (erpsync.i18n): chosen by --lang, the
settings or the locale; JSON never changes; every message has its translation; terminal
tables align Chinese by display width."""

from __future__ import annotations

import gettext
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from rich.cells import cell_len
from rich.console import Console

from erpsync import i18n
from erpsync.render.report_text import text_view as report_text
from tests.test_dormant import erpsync, project

REPO = Path(__file__).resolve().parent.parent
PO = REPO / "erpsync/locale/zh_CN/LC_MESSAGES/erpsync.po"
MO = PO.with_suffix(".mo")
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2)}


@pytest.fixture(autouse=True)
def english_afterwards() -> Iterator[None]:
    yield
    i18n.use(i18n.ENGLISH)


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from erpsync.adapters.reference.database import init_database

    url = f"sqlite:///{tmp_path / 'erp.db'}"
    init_database(url, sample=True)
    project(tmp_path, url)
    monkeypatch.chdir(tmp_path)
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_the_locale_gives_a_chinese_plan_and_the_same_json(
    demo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, english = erpsync(capsys, "plan")
    assert code == 0
    assert "Plan: 1 to create, 3 to update" in english
    code, english_json = erpsync(capsys, "plan", "--format", "json")
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    code, chinese = erpsync(capsys, "plan")
    assert "计划：创建 1 项，修改 3 项，停用 1 项，授予 5 项，撤销 7 项。" in chinese
    assert "+ 用户 chen.xi  # 声明于 policies/users/operations.yaml:30" in chinese
    assert "+ employee  # 部门 hq 的默认角色" in chinese
    assert "- finance.payment:approve  # 未声明：按策略移除" in chinese
    assert "Plan:" not in chinese
    code, chinese_json = erpsync(capsys, "plan", "--format", "json")
    strip = re.compile(r'"created_at": "[^"]+"')  # the one field that moves with the clock
    assert strip.sub("", chinese_json) == strip.sub("", english_json)
    code, overridden = erpsync(capsys, "--lang", "en", "plan")
    assert "Plan: 1 to create" in overridden


def test_settings_language_and_lang_override(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = demo / "erpsync.yaml"
    config.write_text(
        config.read_text("utf-8").replace("settings:\n", "settings:\n  language: zh-CN\n", 1),
        "utf-8",
    )
    code, out = erpsync(capsys, "plan")
    assert "计划：" in out
    code, out = erpsync(capsys, "--lang", "en", "plan")
    assert code == 0
    assert "Plan:" in out


def test_the_locale_is_read_as_people_set_it() -> None:
    assert i18n.choose(None, None, {"LANG": "zh_CN.UTF-8"}) == i18n.CHINESE
    assert i18n.choose(None, None, {"LC_ALL": "zh_Hans_CN.utf8", "LANG": "en_US"}) == "zh_CN"
    assert i18n.choose(None, None, {"LC_ALL": "C", "LANG": "zh_CN.UTF-8"}) == i18n.ENGLISH
    assert i18n.choose(None, None, {"LANG": "zh_TW.UTF-8"}) == i18n.ENGLISH  # not spoken
    assert i18n.choose("en", "zh-CN", {"LANG": "zh_CN.UTF-8"}) == i18n.ENGLISH
    assert i18n.choose(None, "zh-CN", {}) == i18n.CHINESE


def extracted() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(REPO / "erpsync"),
        keywords=KEYWORDS,
        method_map=[("**.py", "python"), ("render/templates/**.j2", "jinja2")],
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_message_has_a_chinese_translation() -> None:
    """A message added to the code without its translation in the catalogue fails here
    (run `make i18n` and translate it in erpsync.po)."""
    with PO.open("rb") as f:
        catalogue = read_po(f, locale="zh_CN")
    translated = {
        (m.id[0] if isinstance(m.id, tuple) else m.id): m.string
        for m in catalogue
        if m.id and not m.fuzzy
    }
    missing = sorted(m for m in extracted() if not translated.get(m))
    assert missing == [], f"messages without a zh_CN translation (make i18n): {missing}"
    for message, text in translated.items():
        said = text[0] if isinstance(text, tuple) else text
        names = set(re.findall(r"\{\w+\}", message))
        assert set(re.findall(r"\{\w+\}", said)) == names, message  # placeholders kept


def test_the_shipped_catalogue_is_compiled_from_the_po() -> None:
    with PO.open("rb") as f:
        catalogue = read_po(f, locale="zh_CN")
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    fresh = gettext.GNUTranslations(compiled)
    with MO.open("rb") as f:
        shipped = gettext.GNUTranslations(f)
    assert fresh._catalog == shipped._catalog  # type: ignore[attr-defined]


def test_every_reason_of_the_golden_plans_has_a_template() -> None:
    reasons = set()
    for path in (REPO / "tests/cases/plan").glob("*/plan.json"):
        plan = json.loads(path.read_text("utf-8"))
        reasons |= {c["reason"] for c in plan["changes"]}
        reasons |= {u["reason"] for u in plan.get("unmanaged", [])}
    assert sorted(r for r in reasons if i18n.untranslated(r)) == []
    i18n.use(i18n.CHINESE)
    assert i18n.reason("user li.na is deactivated: expired 2026-11-01") == (
        "用户 li.na 将被停用：已于 2026-11-01 到期"
    )


def test_numbers_and_dates_as_the_language_writes_them() -> None:
    import datetime as dt

    i18n.use(i18n.CHINESE)
    assert i18n.number(12345) == "12,345"
    assert i18n.date(dt.date(2026, 12, 3)) == "2026年12月3日"
    i18n.use(i18n.ENGLISH)
    assert i18n.date(dt.date(2026, 12, 3)) == "Dec 3, 2026"


def test_terminal_tables_align_chinese_by_display_width() -> None:
    """A Chinese character takes two terminal columns: the column after a Chinese cell
    starts at the same display column on every row."""
    entries = [
        ("李娜财务部", "2026-12-20"),  # 5 characters, 10 columns wide
        ("wu", "2026-12-21"),
    ]
    doc = {
        "report": "expiring",
        "view": "desired",
        "today": "2026-12-03",
        "days": 30,
        "summary": {"expired": 0, "expiring": 2},
        "entries": [
            {
                "status": "expiring",
                "kind": "user",
                "key": key,
                "expires": expires,
                "days_left": 17,
                "detail": "x",
                "live_active": None,
            }
            for key, expires in entries
        ],
    }
    buffer = io.StringIO()
    Console(file=buffer, width=120, color_system=None).print(report_text(doc))
    rows = [x for x in buffer.getvalue().splitlines() if x.startswith("expiring")]
    assert len(rows) == 2
    columns = [
        cell_len(row[: row.index(expires)]) for row, (_, expires) in zip(rows, entries, strict=True)
    ]
    assert columns[0] == columns[1]
    assert len(rows[0][: rows[0].index("2026")]) < len(rows[1][: rows[1].index("2026")])


def test_the_list_of_data_templates_is_up_to_date() -> None:
    """i18n.said reads a message only by the templates of messages that are data (marked
    N_), listed in data-messages.pot by `make i18n`: a list behind the code would leave a
    new message English."""
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(REPO / "erpsync"), keywords={"N_": None}, method_map=[("**.py", "python")]
    ):
        found.add(message)
    with (REPO / "erpsync/locale/data-messages.pot").open("rb") as f:
        listed = {m.id for m in read_po(f) if m.id}
    assert found == listed, "run make i18n"


def test_a_view_template_never_reads_a_data_message() -> None:
    i18n.use(i18n.CHINESE)
    message = "includes[0]: unknown role 'employe' (did you mean 'employee'?)"
    assert "个角色" not in i18n.said(message)  # not the plan summary's "{n} role {done}"
