"""Importing ledgers written by other programs (openpyxl, Python's csv in GBK, LibreOffice .ods/.xls):
header detection, synonyms, validation, diff, all-or-nothing commit, undo, cancel, re-import."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pytest

from db.backup import list_backups
from db.errors import Cancelled, GridDeskError, ValidationErrors
from db.ledger.commit import commit_import, list_batches, undo_import
from db.ledger.mapping import field_label, mapping_names, save_mapping
from db.ledger.preview import build_preview, plan_import
from db.ledger.report import report_lines, write_error_workbook
from db.oplog import compare_with_log
from db.validation import check_character

FIXTURES = Path(__file__).parent / "fixtures" / "ledger"
COMMUNITY = FIXTURES / "community.xlsx"
ZHANG = "420102198001011231"
LI = "420102198203042247"
ZHENG = "42010219990101124" + check_character("42010219990101124")


def ops(store) -> int:
    return store.db.execute_sql("select count(*) from oplog").fetchone()[0]


def person(store, id_number: str) -> dict | None:
    cur = store.db.execute_sql("select * from person where id_number = ? and deleted = 0", (id_number,))
    row = cur.fetchone()
    return dict(zip([d[0] for d in cur.description], row, strict=True)) if row else None


def preview_of(store, path, **kw):
    return build_preview(store, plan_import(path, store=store, **kw))


def by_row(preview, sheet: str, row: int):
    return next(r for r in preview.rows if r.sheet == sheet and r.row == row)


def test_title_rows_and_a_merged_two_row_header_are_found(store):
    plan = plan_import(COMMUNITY, store=store)
    main = plan.sheets[0]
    assert main.layout.header_row == 2  # two title rows above
    assert main.layout.data_row == 4  # 住址 merged over 小区/楼栋/单元/门牌 in the row below
    mapped = {main.layout.headers[c]: k for c, k in main.mapping.items()}
    assert mapped["小区"] == "compound" and mapped["门牌"] == "door" and mapped["公民身份号码"] == "id_number"
    assert "序号" not in mapped
    assert plan.skipped_sheets == ["填表说明"]


def test_chinese_synonyms_map_other_ledgers_column_names(store):
    plan = plan_import(COMMUNITY, store=store)
    second = {plan.sheets[1].layout.headers[c]: k for c, k in plan.sheets[1].mapping.items()}
    assert second == {"名字": "name", "证件号码": "id_number", "手机号": "phone", "居住地址": "current_address",
                      "人员类型": "person_type", "出生年月": "birth_date"}
    gbk = plan_import(FIXTURES / "gbk.csv", store=store).sheets[0]
    assert set(gbk.mapping.values()) >= {"name", "id_number", "phone", "current_address", "sex", "ethnicity"}


def test_a_user_adjusted_mapping_is_saved_by_name_and_applied_again(store):
    plan = plan_import(FIXTURES / "gbk.csv", store=store)
    sp = plan.sheets[0]
    phone_col = next(c for c, k in sp.mapping.items() if k == "phone")
    address_col = next(c for c, k in sp.mapping.items() if k == "current_address")
    sp.mapping[address_col] = "hukou_address"  # this department's 现住址 is really the hukou address
    del sp.mapping[phone_col]  # and its phone column is not to be imported
    save_mapping(store, name="街道模板", headers=sp.layout.headers, mapping=sp.mapping)
    assert mapping_names(store) == ["街道模板"]
    again = plan_import(FIXTURES / "gbk.csv", store=store, mapping_name="街道模板").sheets[0]
    assert again.mapping[address_col] == "hukou_address" and phone_col not in again.mapping
    preview = build_preview(store, plan_import(FIXTURES / "gbk.csv", store=store, mapping_name="街道模板"))
    assert preview.rows[0].person["hukou_address"] == "长宁区幸福路1号"
    assert "phone" not in preview.rows[0].person
    with pytest.raises(GridDeskError, match="没有名为"):
        plan_import(FIXTURES / "gbk.csv", store=store, mapping_name="不存在")


def test_gbk_and_utf8_bom_csv_files_are_decoded(store):
    gbk = preview_of(store, FIXTURES / "gbk.csv")
    assert [r.person["name"] for r in gbk.rows] == ["欧阳娜", "诸葛亮"]
    assert gbk.rows[0].person["phone"] == "021-64001234"
    bom = preview_of(store, FIXTURES / "utf8-bom.csv")
    assert bom.rows[0].person["name"] == "䶮王" and bom.rows[0].person["id_number"] == "310115198808085633"


@pytest.mark.parametrize("name", ["community.ods", "community.xls"])
def test_libreoffice_ods_and_xls_read_like_the_xlsx(store, name):
    expected = [(r.row, r.action, r.person) for r in preview_of(store, COMMUNITY).rows]
    got = [(r.row, r.action, r.person) for r in preview_of(store, FIXTURES / name).rows]
    assert got == expected


def test_errors_are_listed_by_sheet_row_and_column_in_chinese(store):
    preview = preview_of(store, COMMUNITY)
    lines = report_lines(preview)
    joined = "\n".join(lines)
    assert "工作表“人口台账”第 12 行“联系电话”列" in joined
    assert "未通过校验码核验" in joined
    assert preview.count("error") == 3 and preview.count("create") == 7


def test_id_numbers_stored_as_numbers_are_explained_never_guessed(store):
    preview = preview_of(store, COMMUNITY)
    zhao = by_row(preview, "人口台账", 8)
    assert zhao.action == "error"
    assert "4.20102E+17" in zhao.errors[0].message and "文本" in zhao.errors[0].message
    commit_import(store, preview, skip_invalid=True)
    assert store.db.execute_sql("select count(*) from person where name = '赵六'").fetchone()[0] == 0


def test_dates_in_every_usual_form_are_normalised(store):
    preview = preview_of(store, COMMUNITY)
    births = {r.person["name"]: r.person.get("birth_date") for r in preview.rows}
    assert births["张三"] == "1980-01-01"  # a real date cell
    assert births["李四"] == "1982-03-04"  # 1982年3月4日
    assert births["张小明"] == "2010-01-05"  # 2010/1/5
    assert births["钱七"] == "2023-01-05"  # 20230105
    assert births["吴八"] == "2023-01-05"  # Excel serial 44931
    assert births["陈一"] == "1990-03-10"  # 1990.3.10
    assert births["刘二"] == "1992-11-21"  # empty: taken from the ID number


def test_full_width_digits_and_stray_spaces_are_normalised(store):
    li = by_row(preview_of(store, COMMUNITY), "人口台账", 6)
    assert li.person["name"] == "李四"
    assert li.person["id_number"] == LI
    assert li.person["phone"] == "13912345678"
    assert li.person["notes"] == "全角与空格"
    assert li.relation == "配偶"


def test_duplicates_within_the_file_are_flagged(store):
    sun = by_row(preview_of(store, COMMUNITY), "人口台账", 11)
    assert sun.action == "error"
    assert "第 5 行" in sun.errors[0].message


def test_invalid_rows_stop_everything_unless_skipped(store):
    preview = preview_of(store, COMMUNITY)
    with pytest.raises(ValidationErrors) as info:
        commit_import(store, preview)
    assert len(info.value.errors) == 4 and ops(store) == 0
    assert list_backups(store.path) == []


def test_commit_makes_a_backup_and_writes_households_and_members(store):
    result = commit_import(store, preview_of(store, COMMUNITY), skip_invalid=True)
    assert result.created == 7 and result.skipped == 3 and result.households_created == 5
    assert any("import" in p.name for p in list_backups(store.path))
    zhang = person(store, ZHANG)
    assert zhang["phone"] == "13812345678"
    members = store.db.execute_sql(
        "select p.name, m.relation, h.door, u.name, b.name, c.name from membership m "
        "join person p on p.id = m.person_id join household h on h.id = m.household_id "
        "join unit u on u.id = h.unit_id join building b on b.id = u.building_id "
        "join compound c on c.id = b.compound_id where h.door = '301' order by p.name").fetchall()
    assert members == [("张三", "户主", "301", "2单元", "3栋", "幸福小区"), ("张小明", "子女", "301", "2单元", "3栋", "幸福小区"),
                       ("李四", "配偶", "301", "2单元", "3栋", "幸福小区")]
    # Places the register's tree shows: the levels the file left out are filled in.
    grid = store.db.execute_sql("select g.name from compound c join grid g on g.id = c.grid_id").fetchall()
    assert grid == [("未分网格",)]
    assert compare_with_log(store) == []


def test_skipped_rows_go_to_an_error_workbook_that_can_be_fixed_and_reimported(store, tmp_path):
    preview = preview_of(store, COMMUNITY)
    commit_import(store, preview, skip_invalid=True)
    errors = tmp_path / "errors.xlsx"
    assert write_error_workbook(preview, errors) == 3
    wb = openpyxl.load_workbook(errors)
    ws = wb["人口台账"]
    header = [c.value for c in ws[1]]
    assert header[-1] == "需要修改的地方"
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    assert [r[1] for r in rows] == ["赵六", "孙九", "周十"]
    assert rows[0][4] == "4.20102E+17"
    # The worker fixes the rows and imports the workbook again.
    ws.cell(2, 5).value = "420102197506071112"
    ws.delete_rows(3, 2)
    wb.save(errors)
    again = preview_of(store, errors)
    assert [(r.person["name"], r.action) for r in again.rows] == [("赵六", "create")]
    commit_import(store, again)
    assert person(store, "420102197506071112")["ethnicity"] == "回族"


def changed_community(tmp_path, *rows) -> Path:
    """The community ledger with 张三's phone changed (and any rows added): a later import."""
    changed = tmp_path / "changed.xlsx"
    shutil.copy(COMMUNITY, changed)
    wb = openpyxl.load_workbook(changed)
    wb["人口台账"]["G5"] = "13800000000"
    for row in rows:
        wb["人口台账"].append(row)
    wb.save(changed)
    return changed


def test_matching_id_numbers_become_updates_with_a_field_diff(store, tmp_path):
    commit_import(store, preview_of(store, COMMUNITY), skip_invalid=True)
    changed = changed_community(tmp_path)  # 张三 has a new phone
    before = ops(store)
    preview = preview_of(store, changed)
    zhang = by_row(preview, "人口台账", 5)
    assert zhang.action == "update"
    assert zhang.diff == [("phone", "13812345678", "13800000000")]
    assert preview.count("update") == 1 and preview.count("unchanged") == 6
    assert any("联系电话: 138****5678 → 138****0000" in line for line in report_lines(preview))  # masked
    result = commit_import(store, preview, skip_invalid=True)
    assert result.updated == 1 and result.created == 0
    assert ops(store) == before + 1  # one op for one changed row
    assert person(store, ZHANG)["phone"] == "13800000000"


def test_reimporting_the_same_file_changes_nothing(store):
    commit_import(store, preview_of(store, COMMUNITY), skip_invalid=True)
    before = ops(store)
    preview = preview_of(store, COMMUNITY)
    assert preview.count("create") == 0 and preview.count("update") == 0
    result = commit_import(store, preview, skip_invalid=True)
    assert result.batch_id is None and ops(store) == before


def test_a_whole_import_is_undone_as_one_step_without_deleting_log_entries(store, tmp_path):
    first = commit_import(store, preview_of(store, COMMUNITY), skip_invalid=True)
    changed = changed_community(tmp_path, [9, "郑新", "女", "汉族", ZHENG, None, None, "幸福小区", "4栋", 1, 105, "户主"])
    second = commit_import(store, preview_of(store, changed), skip_invalid=True)
    assert second.created == 1 and second.updated == 1
    before = ops(store)
    undo_import(store, batch_id=second.batch_id)
    assert ops(store) > before  # undo appends ops, never removes any
    assert person(store, ZHANG)["phone"] == "13812345678"  # the previous value is back
    assert person(store, ZHENG) is None  # the created person is tombstoned
    assert store.db.execute_sql("select deleted from person where id_number = ?", (ZHENG,)).fetchone() == (1,)
    assert compare_with_log(store) == []
    assert [b.id for b in list_batches(store) if b.undone_at] == [second.batch_id]
    with pytest.raises(GridDeskError):
        undo_import(store, batch_id=second.batch_id)
    undo_import(store, batch_id=first.batch_id)
    assert store.db.execute_sql("select count(*) from person where deleted = 0").fetchone()[0] == 0


def test_cancelling_in_the_middle_of_an_import_leaves_nothing_written(store, tmp_path):
    from db.ledger import commit as commit_module
    from desktop.tasks import TaskState

    rows = [["姓名", "身份证号", "门牌"]]
    for i in range(30):
        first17 = f"11010519800101{i:03d}"
        rows.append([f"居民{i}", first17 + check_character(first17), str(100 + i)])
    path = tmp_path / "many.xlsx"
    wb = openpyxl.Workbook()
    for r in rows:
        wb.active.append(r)
    wb.save(path)
    preview = preview_of(store, path)
    state = TaskState(min_interval=0)
    calls = []

    def set_progress(done, total, text=None):
        calls.append(done)
        if len(calls) == 3:  # after households and the first chunk of persons were written
            state.cancel()

    state.set_progress = set_progress
    old_chunk = commit_module.CHUNK
    commit_module.CHUNK = 10
    try:
        with pytest.raises(Cancelled):
            commit_import(store, preview, state=state)
    finally:
        commit_module.CHUNK = old_chunk
    assert len(calls) >= 3
    assert ops(store) == 0
    assert store.db.execute_sql("select count(*) from person").fetchone()[0] == 0
    assert list_batches(store) == []


def test_a_sheet_without_a_header_is_explained(store, tmp_path):
    path = tmp_path / "notes.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["这里只有一些说明文字"])
    wb.save(path)
    with pytest.raises(GridDeskError, match="找到表头"):
        plan_import(path, store=store)
    assert field_label("id_number") == "证件号码"


def test_a_legacy_15_digit_number_stored_as_a_number_is_exact_and_accepted(store, tmp_path):
    path = tmp_path / "old.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["姓名", "身份证号", "住址"])
    wb.active.append(["老李", 110105500310421.0, "幸福路1号"])
    wb.active.append(["小李", 1.10105199003104e17, "幸福路1号"])
    wb.save(path)
    preview = preview_of(store, path)
    assert preview.rows[0].action == "create" and preview.rows[0].person["id_number"] == "110105500310421"
    assert preview.rows[0].person["birth_date"] == "1950-03-10"
    assert preview.rows[1].action == "error" and "1.10105E+17" in preview.rows[1].errors[0].message


def test_a_person_who_moved_leaves_the_old_household_and_joins_the_new_one(store, tmp_path):
    commit_import(store, preview_of(store, COMMUNITY), skip_invalid=True)
    moved = tmp_path / "moved.xlsx"
    shutil.copy(COMMUNITY, moved)
    wb = openpyxl.load_workbook(moved)
    wb["人口台账"]["K7"] = 303  # 张小明 now lives at 303
    wb.save(moved)
    preview = preview_of(store, moved)
    ming = by_row(preview, "人口台账", 7)
    assert ming.action == "update"
    assert ming.diff == [("household", "幸福小区3栋2单元301", "幸福小区3栋2单元303")]
    commit_import(store, preview, skip_invalid=True)
    rows = store.db.execute_sql(
        "select h.door, m.until is null from membership m join person p on p.id = m.person_id "
        "join household h on h.id = m.household_id where p.name = '张小明' order by h.door").fetchall()
    assert rows == [("301", 0), ("303", 1)]  # history kept, the current household is 303
    assert compare_with_log(store) == []
    undo_import(store, batch_id=list_batches(store)[0].id)
    rows = store.db.execute_sql(
        "select h.door, m.until is null from membership m join person p on p.id = m.person_id "
        "join household h on h.id = m.household_id where p.name = '张小明' and m.deleted = 0").fetchall()
    assert rows == [("301", 1)]  # undone: back in 301, the 303 membership tombstoned


def test_a_household_has_one_head_in_the_file_and_in_the_register(store, tmp_path):
    commit_import(store, preview_of(store, COMMUNITY), skip_invalid=True)
    path = tmp_path / "heads.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["姓名", "身份证号", "小区", "楼栋", "单元", "门牌", "与户主关系"])
    a = "11010519700101123" + check_character("11010519700101123")
    b = "11010519720202224" + check_character("11010519720202224")
    c = "11010519750303335" + check_character("11010519750303335")
    ws.append(["甲", a, "幸福小区", "9栋", 1, 101, "户主"])
    ws.append(["乙", b, "幸福小区", "9栋", 1, 101, "户主"])  # a second head in the same new household
    ws.append(["丙", c, "幸福小区", "3栋", 2, 301, "户主"])  # 张三 is the head there already
    wb.save(path)
    preview = preview_of(store, path)
    assert [r.action for r in preview.rows] == ["create", "error", "error"]
    assert "第 2 行" in preview.rows[1].errors[0].message
    assert "张三" in preview.rows[2].errors[0].message
    assert preview.rows[2].errors[0].column == "与户主关系"
    assert preview.new_households() == 1


def test_a_preview_made_stale_by_another_write_is_matched_again_on_commit(store):
    from db import oplog
    from db.models.register import Person

    preview = preview_of(store, COMMUNITY)
    assert by_row(preview, "人口台账", 5).action == "create"
    oplog.write(store, Person, [{"name": "张三", "id_number": ZHANG, "phone": "13900000000"}])
    result = commit_import(store, preview, skip_invalid=True)
    assert result.created == 6 and result.updated == 1
    assert store.db.execute_sql("select count(*) from person where id_number = ?", (ZHANG,)).fetchone() == (1,)
    assert person(store, ZHANG)["phone"] == "13812345678"


def test_places_match_the_registers_own_names_and_its_only_grid(store, tmp_path):
    from db.register import places
    from db.register.places import place_tree

    g = places.save_place(store, level="grid", name="第三网格")[0].row_id
    c = places.save_place(store, level="compound", name="幸福小区", parent_id=g)[0].row_id
    b = places.save_place(store, level="building", name="3栋", parent_id=c)[0].row_id
    u = places.save_place(store, level="unit", name="2单元", parent_id=b)[0].row_id
    commit_import(store, preview_of(store, COMMUNITY), skip_invalid=True)
    # 3栋2单元 reused; 4栋1单元 new, and 5栋1单元 from the 流动人口 sheet's whole addresses
    assert store.db.execute_sql("select count(*) from unit").fetchone() == (3,)
    assert store.db.execute_sql("select count(distinct unit_id) from household where unit_id = ?", (u,)).fetchone() == (1,)
    tree = place_tree(store)
    assert [g["name"] for g in tree] == ["第三网格"]
    assert sorted(b["name"] for b in tree[0]["children"][0]["children"]) == ["3栋", "4栋", "5栋"]


def test_csv_lost_digits_and_tab_separated_text(store, tmp_path):
    """Excel saves a number-formatted ID column to CSV as 4.20102E+17; tabs separate some exports."""
    path = tmp_path / "export.csv"
    path.write_bytes("姓名,身份证号,电话\n王五,4.20102E+17,13800001111\n".encode("gbk"))
    row = preview_of(store, path).rows[0]
    assert row.action == "error" and "4.20102E+17" in row.errors[0].message
    tsv = tmp_path / "list.txt"
    tsv.write_text(f"姓名\t身份证号\t电话\n王五\t{ZHANG}\t13800001111\n", encoding="utf-8")
    row = preview_of(store, tsv).rows[0]
    assert row.action == "create" and row.person["phone"] == "13800001111"


def test_household_numbers_group_rows_and_other_papers_are_kept_as_text(store, tmp_path):
    path = tmp_path / "huhao.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["户号", "姓名", "证件类型", "证件号码", "与户主关系", "房屋用途", "家庭住址"])
    ws.append(["H001", "约翰", "护照", "e1234567", "户主", "出租", "幸福路8号"])
    ws.append(["H001", "玛丽", "护照", "E7654321", "妻子", "出租", "幸福路8号"])
    ws.append(["H002", "赵云", "居民身份证", ZHANG, "户主", "租住", "幸福路9号"])
    wb.save(path)
    preview = preview_of(store, path)
    assert [r.action for r in preview.rows] == ["create", "create", "error"]
    assert preview.rows[0].person["id_number"] == "E1234567" and preview.rows[0].person["id_type"] == "护照"
    assert "房屋用途" in preview.rows[2].errors[0].column and "自住" in preview.rows[2].errors[0].message
    commit_import(store, preview, skip_invalid=True)
    rows = store.db.execute_sql(
        "select h.number, h.house_use, h.address, count(*) from household h join membership m "
        "on m.household_id = h.id group by h.id").fetchall()
    assert rows == [("H001", "出租", "幸福路8号", 2)]


def test_a_committed_import_leaves_the_checkpoint_for_later_and_another_reader_sees_it(store):
    """The commit skips the automatic checkpoint (db.bulk); the data is committed all the same, the
    setting comes back, and settle() folds the log into the database file."""
    import pysqlite3.dbapi2 as sqlite3

    from db.bulk import settle

    store.db.execute_sql("pragma wal_autocheckpoint = 1")  # else a checkpoint at every commit
    settle(store)
    before = store.path.read_bytes()
    commit_import(store, preview_of(store, COMMUNITY), skip_invalid=True)
    assert store.db.execute_sql("pragma wal_autocheckpoint").fetchone() == (1,)
    assert store.path.read_bytes() == before  # the new pages are still only in the log
    other = sqlite3.connect(store.path)
    try:
        assert other.execute("select count(*) from person").fetchone()[0] == 7
    finally:
        other.close()
    frames, copied = settle(store)
    assert frames > 0 and copied == frames and store.path.read_bytes() != before


def test_a_cancel_during_the_search_index_refresh_leaves_nothing_written(store):
    """The refresh of a big import takes seconds after the last row was written: a cancel pressed
    then (after the last progress check) still rolls the whole import back."""
    from desktop.tasks import TaskState

    class CancelDuringRefresh(TaskState):
        # The person presses Cancel just after the check that follows "Updating the search index…",
        # i.e. while the index is refreshed.
        def __init__(self):
            super().__init__(min_interval=0)
            self.checks = 0
            self.refresh_check: int | None = None

        def set_progress(self, done, total, text=None):
            super().set_progress(done, total, text)
            if text == "正在更新搜索索引…":
                self.refresh_check = self.checks + 1

        def is_cancelled(self):
            self.checks += 1
            return self.refresh_check is not None and self.checks > self.refresh_check

    state = CancelDuringRefresh()
    preview = preview_of(store, COMMUNITY)
    with pytest.raises(Cancelled):
        commit_import(store, preview, skip_invalid=True, state=state)
    assert state.refresh_check is not None and state.checks == state.refresh_check + 1
    assert ops(store) == 0
    assert store.db.execute_sql("select count(*) from person").fetchone()[0] == 0
    assert store.db.execute_sql("select count(*) from register_search").fetchone()[0] == 0
    assert list_batches(store) == []
    # Not cancelled, the same preview is written in full.
    result = commit_import(store, preview, skip_invalid=True, state=TaskState(min_interval=0))
    assert result.created == 7 and ops(store) > 0


def test_imports_are_undone_newest_first_and_an_undone_update_never_brings_a_deleted_person_back(store, tmp_path):
    """The tester's case: import, a later import updates a phone, undo the first, then the second."""
    from db import oplog
    from db.models.register import Person

    first = commit_import(store, preview_of(store, COMMUNITY), skip_invalid=True)
    changed = changed_community(tmp_path)
    second = commit_import(store, preview_of(store, changed), skip_invalid=True)
    assert second.updated == 1
    with pytest.raises(GridDeskError) as exc:
        undo_import(store, batch_id=first.batch_id)
    assert "changed.xlsx" in exc.value.message and "请先撤销" in exc.value.message
    assert person(store, ZHANG)["phone"] == "13800000000"  # nothing undone
    undo_import(store, batch_id=second.batch_id)
    undo_import(store, batch_id=first.batch_id)
    live = "select count(*) from {t} where deleted = 0"
    assert [store.db.execute_sql(live.format(t=t)).fetchone()[0] for t in ("person", "household")] == [0, 0]
    assert compare_with_log(store) == []

    # A person the import created and someone edited afterwards: the undo is refused, nothing changes.
    third = commit_import(store, preview_of(store, COMMUNITY), skip_invalid=True)
    pid = person(store, ZHANG)["id"]
    oplog.write(store, Person, [{"id": pid, "notes": "已走访"}])
    before = ops(store)
    with pytest.raises(GridDeskError) as exc:
        undo_import(store, batch_id=third.batch_id)
    assert "1 条记录" in exc.value.message and ops(store) == before

    # An import that updated a person who was deleted since: undoing it does not bring him back.
    oplog.write(store, Person, [{"id": pid, "notes": None}])
    fourth = commit_import(store, preview_of(store, changed), skip_invalid=True)
    assert fourth.updated == 1
    oplog.delete(store, Person, [pid])
    undo_import(store, batch_id=fourth.batch_id)
    assert store.db.execute_sql("select deleted from person where id = ?", (pid,)).fetchone() == (1,)


def test_a_birth_date_or_sex_that_contradicts_the_id_number_stops_the_row(store, tmp_path):
    """In a list of thousands a silent choice would import a wrong age: the row is refused."""
    path = tmp_path / "mismatch.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["姓名", "身份证号", "出生日期", "性别"])
    ws.append(["周十", ZHANG, 45000, None])  # an Excel date serial, 2023-03-15; the ID says 1980-01-01
    ws.append(["张三", LI, None, "男"])  # the ID number is a woman's
    ws.append(["郑新", ZHENG, "1999-01-01", "女"])
    wb.save(path)
    preview = preview_of(store, path)
    assert preview.count("error") == 2 and preview.count("create") == 1
    messages = [issue.message for r in preview.error_rows() for issue in r.errors]
    assert any("2023-03-15" in m and "1980-01-01" in m and "请改正其中一个" in m for m in messages)
    assert any("性别" in m and "请改正其中一个" in m for m in messages)


@pytest.mark.parametrize(("address", "expected"), [
    ("幸福小区3栋2单元301室", ("幸福小区", "3栋", "2", "301")),
    ("花园小区12号楼501", ("花园小区", "12号楼", None, "501")),
    ("3幢1单元102", (None, "3幢", "1", "102")),
    ("长宁区幸福路1号", None),  # a street address: no places
])
def test_a_whole_address_is_read_into_places(address, expected):
    from db.ledger.address import split_address

    assert split_address(address) == expected


def test_a_ledger_with_one_address_column_fills_the_place_tree(store, tmp_path):
    """Two ledgers as communities keep them: the whole address in one column; or the compound in
    the address column next to 楼号/单元/房号 columns."""
    from db.register.places import place_tree

    one = tmp_path / "one.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["姓名", "身份证号", "居住地址"])
    wb.active.append(["张三", ZHANG, "幸福小区3栋2单元301室"])
    wb.active.append(["李四", LI, "幸福小区3栋2单元301室"])
    wb.save(one)
    two = tmp_path / "two.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["姓名", "身份证号", "居住地址", "楼号", "单元", "房号"])
    wb.active.append(["郑新", ZHENG, "花园小区", "5", "1", "101"])
    wb.save(two)
    commit_import(store, preview_of(store, one))
    commit_import(store, preview_of(store, two))
    compounds = {c["name"]: sorted(b["name"] for b in c["children"]) for g in place_tree(store) for c in g["children"]}
    assert compounds == {"幸福小区": ["3栋"], "花园小区": ["5栋"]}
    assert store.db.execute_sql("select count(*) from household").fetchone() == (2,)  # 张三 and 李四 share one
