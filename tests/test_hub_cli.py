"""`griddesk-hub` admin commands and the status page (SQLite and PostgreSQL)."""

from __future__ import annotations

import httpx
import pytest

from db.sync import hub_client
from db.sync.hub_protocol import parse_code
from db.sync.identity import identity
from hub import cli
from hub.tls import fingerprint_of
from tests.hub_helpers import (
    add_household,
    office_with_grids,
)


def test_cert_prints_the_fingerprint(tmp_path, capsys):
    assert cli.main(["--data", str(tmp_path / "h.sqlite"), "cert", "--host", "192.168.1.10",
                     "--out", str(tmp_path / "tls")]) == 0
    out = capsys.readouterr().out
    pin = fingerprint_of(tmp_path / "tls" / "cert.pem")
    assert ":".join(pin[i:i + 2] for i in range(0, 64, 2)).upper() in out
    assert "SHA-256 指纹" in out
    assert cli.main(["--data", str(tmp_path / "h.sqlite"), "cert", "--out", str(tmp_path / "tls")]) == 1  # kept


def test_admin_commands(hub, hub_cert, laptops, tmp_path, capsys):
    cert, key, pin = hub_cert
    data = hub.storage.url
    office = laptops("office").enrol(hub, pin, None)
    g1, g2 = office_with_grids(office)
    office.sync()
    tls = cert.parent
    # enrol by grid name: the code carries the address and the pin; a QR code is written
    assert cli.main(["--data", data, "enrol", "--grid", "一网格", "--name", "张伟的电脑", "--address",
                     hub.address.replace("https://", ""), "--tls", str(tls), "--qr", str(tmp_path / "qr.png")]) == 0
    out = capsys.readouterr().out
    text = next(line for line in out.splitlines() if line.startswith("griddesk-hub://"))
    assert parse_code(text).pin == pin and (tmp_path / "qr.png").stat().st_size > 200
    a = laptops("zhang")
    hub_client.enrol(a.store, text)
    a.sync()
    add_household(a, g1)
    a.sync()
    assert cli.main(["--data", data, "devices"]) == 0
    out = capsys.readouterr().out
    assert "张伟的电脑" in out or identity(a.store).name in out
    assert cli.main(["--data", data, "stats"]) == 0
    out = capsys.readouterr().out
    assert "一网格" in out and "住户 1" in out
    device = identity(a.store).device_id
    assert cli.main(["--data", data, "scope", device, "--grid", "二网格"]) == 0
    assert a.ids("household")
    a.sync()  # the laptop reads its new scope from the start: grid 1's household leaves
    assert not a.ids("household") and not a.ids("person")
    assert cli.main(["--data", data, "revoke", device]) == 0
    with pytest.raises(hub_client.HubRefused):
        a.sync()
    assert cli.main(["--data", data, "enrol", "--grid", "没有这个网格", "--address", "x:1", "--tls", str(tls)]) == 2
    assert "没有唯一名为" in capsys.readouterr().err
    backup = tmp_path / "b.sqlite"
    assert cli.main(["--data", data, "backup", str(backup)]) == 0
    assert cli.main(["--data", data, "backup", str(backup)]) == 2  # never overwrites


def test_status_page_in_chinese(hub, hub_cert, laptops):
    pin = hub_cert[2]
    office = laptops("office").enrol(hub, pin, None)
    g1, _g2 = office_with_grids(office)
    add_household(office, g1)
    office.sync()
    page = httpx.get(hub.address + "/", verify=False).text
    assert "网格台账办公室同步服务器" in page and "一网格" in page and "设备" in page
    assert "13800000000" not in page  # no personal data on the page


def test_serve_needs_a_certificate(tmp_path, capsys):
    assert cli.main(["--data", str(tmp_path / "h.sqlite"), "serve", "--tls", str(tmp_path / "none")]) == 2
    assert "griddesk-hub cert" in capsys.readouterr().err
