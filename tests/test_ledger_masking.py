"""The import wizard never shows an ID or phone number in full (mask_id / mask_phone, as every screen)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.ledger_helpers import preview_of_a_changed_phone

FIXTURES = Path(__file__).parent / "fixtures" / "ledger"
FULL_NUMBER = re.compile(r"\d{11,}|\d{3}\s?\d{4}\s?\d{4}")


def _samples(page) -> list[str]:
    return [page.table.item(row, 1).text() for row in range(page.table.rowCount())]


def test_the_mapping_page_masks_id_and_phone_samples(ctx, qtbot, tmp_path):
    from views.ledger.import_wizard import ImportWizard

    source = tmp_path / "community.xlsx"
    source.write_bytes((FIXTURES / "community.xlsx").read_bytes())
    wizard = ImportWizard(ctx, path=str(source))
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.next()
    page = wizard.mapping_page
    assert wizard.currentPage() is page
    headers = wizard.plan.sheets[0].layout.headers
    id_col, phone_col = headers.index("公民身份号码"), headers.index("联系电话")
    samples = _samples(page)
    assert samples[id_col].startswith("420102********1231")  # the first row's ID number, masked
    assert samples[phone_col].startswith("138****5678")
    assert "张三" in samples[headers.index("姓名")]  # other columns as they are
    assert not [s for s in samples if FULL_NUMBER.search(s)]
    # A column the person maps to nothing still shows no full number.
    page.set_field(id_col, None)
    assert not FULL_NUMBER.search(page.table.item(id_col, 1).text())
    page.sheet_combo.setCurrentIndex(1)  # the second sheet: 证件号码, 手机号 (+86 …)
    samples = _samples(page)
    assert any("110105********4213" in s for s in samples)
    assert not [s for s in samples if FULL_NUMBER.search(s)]


def test_the_preview_diff_masks_phone_numbers(ctx, qtbot, tmp_path):
    wizard = preview_of_a_changed_phone(ctx, qtbot, tmp_path)
    details = wizard.model.details(wizard.model.row_result(0))
    assert "136****2222 → 136****9999" in details
    assert "13611119999" not in details


def test_a_lost_digits_number_is_sampled_as_excel_shows_it():
    """4.20102E+17 has no digits left to hide: masking it gave the puzzling 4.2010*E+17."""
    from db.ledger.cells import masked_sample

    assert masked_sample("4.20102E+17", "id_number") == "4.20102E+17"
    assert masked_sample("420102198001011231", "id_number") == "420102********1231"
