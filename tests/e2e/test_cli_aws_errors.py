"""The `rolewarden` command when what answers is not AWS: a subprocess and a tiny HTTP server.

Scenarios:
  1. A proxy (or a wrong AWS_ENDPOINT_URL) answers 500 with an HTML page that is not
     XML: botocore raises ResponseParserError, which is no BotoCoreError. Every command
     that starts with STS (query protocol, XML) says so in one line on stderr and exits
     2; no traceback, no page. (JSON protocols such as DynamoDB's make it a ClientError,
     retried first: tests/unit/test_cli_inputs.py holds ClientError to one line.)
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

pytestmark = pytest.mark.e2e

CLI = [sys.executable, "-m", "rolewarden.cli"]
TIMEOUT = 120

# What a load balancer sends: HTML, not XML (the void elements are not closed).
BAD_GATEWAY_PAGE = (
    b"<!DOCTYPE html>\n<html><head><meta charset=utf-8><title>500</title></head>\n"
    b"<body><p>Internal Server Error<br></body></html>\n"
)


class _HtmlErrors(BaseHTTPRequestHandler):
    requests = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).requests += 1
        self.send_response(500)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(BAD_GATEWAY_PAGE)))
        self.end_headers()
        self.wfile.write(BAD_GATEWAY_PAGE)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def html_errors() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HtmlErrors)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    "command",
    [
        ["scan"],
        ["scan", "--output", "json"],
        ["remediate", "63f384f5690dcb3d"],
        ["restore", "20261128T202752Z-8d0dddf4", "--journal-table", "rolewarden-journal"],
    ],
)
def test_a_5xx_html_page_is_one_line_and_exit_2(html_errors: str, command: list[str]) -> None:
    # Given AWS_ENDPOINT_URL pointing at a server that answers 500 with an HTML page
    caller = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ROLEWARDEN_"))}
    env = caller | {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": html_errors,
    }
    before = _HtmlErrors.requests

    # When the command runs
    result = subprocess.run(
        [*CLI, *command], env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )

    # Then it asked, and says in one line that the answer was not AWS's (not the page)
    assert _HtmlErrors.requests > before
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("rolewarden: ")
    assert "an answer that is not an AWS response" in line
    assert "invalid XML received" in line
    assert "DOCTYPE" not in line
    assert result.stdout == ""
