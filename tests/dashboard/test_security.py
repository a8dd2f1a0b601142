"""Read-only, loopback by default, a token anywhere else, and headers that keep run data inert."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from jotty.cli.main import app
from jotty.dashboard import TOKEN_ENV, resolve_token
from jotty.errors import ValidationError
from jotty.runs import open_run_store
from tests.dashboard.conftest import client_for
from tests.dashboard.flows import record_nested

TOKEN = "a-long-random-token-0123456789"


def test_a_token_is_required_off_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    assert resolve_token("127.0.0.1", None) is None and resolve_token("::1", None) is None
    assert resolve_token("localhost", None) is None
    with pytest.raises(ValidationError, match="give --token"):
        resolve_token("0.0.0.0", None)
    with pytest.raises(ValidationError, match="shorter than 16"):
        resolve_token("0.0.0.0", "short")
    assert resolve_token("0.0.0.0", TOKEN) == TOKEN
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    assert resolve_token("192.0.2.1", None) == TOKEN


def test_the_command_refuses_a_network_address_without_a_token(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    result = CliRunner().invoke(app, ["dashboard", "--host", "0.0.0.0", "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 1 and "give --token" in result.output
    missing = CliRunner().invoke(app, ["dashboard", "--db", str(tmp_path / "none.db"), "--port", "1"])
    assert missing.exit_code == 1 and "no store at" in missing.output


async def test_token_by_header_or_cookie_else_401(tmp_path) -> None:
    store = str(tmp_path / "jotty.db")
    await record_nested(store, "r")
    with client_for(store, token=TOKEN, base_url="http://192.0.2.10") as client:
        refused = client.get("/api/runs")
        assert refused.status_code == 401 and "Authorization: Bearer" in refused.text
        assert client.get("/api/runs", headers={"Authorization": "Bearer wrong-token-wrong-token"}).status_code == 401
        assert client.get("/api/runs", headers={"Authorization": f"Bearer {TOKEN}"}).json()["runs"][0]["run_id"] == "r"
        opened = client.get(f"/runs/r?token={TOKEN}", follow_redirects=False)
        assert opened.status_code == 303 and opened.headers["location"] == "/runs/r"  # the token leaves the URL
        assert client.get("/api/runs/r").status_code == 200  # the cookie it set carries on
        assert "httponly" in opened.headers["set-cookie"].lower()


async def test_read_only_and_loopback_host_names_without_a_token(tmp_path) -> None:
    store = str(tmp_path / "jotty.db")
    await record_nested(store, "r")
    with client_for(store) as client:
        for method in ("post", "put", "delete", "patch"):
            assert client.request(method.upper(), "/api/runs/r").status_code == 405
        page = client.get("/runs/r")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["x-content-type-options"] == "nosniff"
        rebound = client.get("/api/runs", headers={"Host": "evil.example:8321"})
        assert rebound.status_code == 421  # a DNS-rebound name cannot read a loopback dashboard
        assert client.get("/api/runs", headers={"Host": "[::1]:8321"}).status_code == 200


async def test_run_ids_and_values_are_escaped_in_html(tmp_path) -> None:
    store = str(tmp_path / "jotty.db")
    await open_run_store(store).close()
    with client_for(store) as client:
        page = client.get('/runs/"><img src=x onerror=alert(1)>')
        assert page.status_code == 200
        assert "<img src=x" not in page.text and "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page.text
