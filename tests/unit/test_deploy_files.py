"""The deployment files in deploy/ stay true to the code: the systemd unit runs a command and
options the CLI has, and the reverse proxies accept every request the server itself accepts
(a proxy limit below `server.max_request_bytes` would refuse large workbooks with its own
error page, before the server could explain)."""

from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.config import ServerSettings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNITS = {"k": 1024, "m": 1024**2, "g": 1024**3, "kib": 1024, "mib": 1024**2, "gib": 1024**3,
         "kb": 1000, "mb": 1000**2, "gb": 1000**3, "": 1}


def _unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string((DEPLOY / "backoffice.service").read_text())
    return parser


def _bytes(size: str) -> int:
    number, unit = re.fullmatch(r"(\d+)\s*([a-zA-Z]*)", size.strip()).groups()
    return int(number) * UNITS[unit.lower()]


def test_unit_runs_serve_with_options_the_cli_has():
    unit = _unit()
    command = shlex.split(unit["Service"]["ExecStart"])
    assert Path(command[0]).name == "backoffice" and command[1] == "serve"
    options = {word.split("=")[0] for word in command[2:] if word.startswith("--")}
    assert options == {"--host", "--port", "--workers"}
    assert command[command.index("--host") + 1] == "127.0.0.1"      # only the proxy reaches it

    shown = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "200"}, terminal_width=200)
    assert shown.exit_code == 0, shown.output
    for option in options:
        assert option in shown.output, f"`backoffice serve` has no {option}"


def test_unit_is_hardened_and_unprivileged():
    service = _unit()["Service"]
    assert service["User"] not in ("", "root")
    assert service["NoNewPrivileges"] == "yes" and service["ProtectSystem"] == "strict"
    assert service["PrivateTmp"] == "yes" and service["ReadWritePaths"]
    assert service["EnvironmentFile"]


def test_nginx_body_limit_is_not_below_the_servers():
    found = re.findall(r"^\s*client_max_body_size\s+(\S+);", (DEPLOY / "nginx.conf").read_text(), re.M)
    assert found, "nginx.conf sets no client_max_body_size (nginx's default is 1 MB)"
    assert all(_bytes(size) >= ServerSettings().max_request_bytes for size in found)


def test_caddy_body_limit_is_not_below_the_servers():
    found = re.findall(r"^\s*max_size\s+(\S+)", (DEPLOY / "Caddyfile").read_text(), re.M)
    assert found
    assert all(_bytes(size) >= ServerSettings().max_request_bytes for size in found)


@pytest.mark.parametrize("name", ["nginx.conf", "Caddyfile"])
def test_proxy_forwards_to_the_units_port(name):
    command = shlex.split(_unit()["Service"]["ExecStart"])
    port = command[command.index("--port") + 1]
    assert f"127.0.0.1:{port}" in (DEPLOY / name).read_text()
