"""`govctl sandbox --serve` in its own process, used from another one as a person would: signed CLI calls and the dashboard."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import urllib3
from typer.testing import CliRunner

from govctl.cli import app
from govctl.sandbox import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sandbox_serve_answers_other_processes_until_interrupted():
    api_port, page_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOVCTL_", "AWS_ENDPOINT"))}
    proc = subprocess.Popen([sys.executable, "-m", "govctl", "sandbox", "--serve", "--empty", "--port", str(api_port),
                             "--dashboard-port", str(page_port)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "personas:" in line:
                break
        assert any(f"governance API http://127.0.0.1:{api_port}" in line for line in lines), "".join(lines)
        runner = CliRunner()
        listed = runner.invoke(app, ["list", "-o", "json"], env={"GOVCTL_PROFILE": "qa-lead",
                                                                 "GOVCTL_ENDPOINT": f"http://127.0.0.1:{api_port}"})
        assert listed.exit_code == 0 and listed.stdout.strip() == "[]", listed.output
        decided = runner.invoke(app, ["--as", "model-owner", "--endpoint", f"http://127.0.0.1:{api_port}", "use-cases", "-o", "json"])
        assert decided.exit_code == 0 and '"credit-risk"' in decided.stdout
        page = urllib3.request("GET", f"http://127.0.0.1:{page_port}/", timeout=60)
        assert page.status == 200 and b"mlgov governance dashboard" in page.data
        assert "default-src 'none'" in page.headers["Content-Security-Policy"]
        assert urllib3.request("GET", f"http://127.0.0.1:{page_port}/elsewhere", timeout=60).status == 404
        unsigned = urllib3.request("GET", f"http://127.0.0.1:{api_port}/dashboard", timeout=60)
        assert unsigned.status == 403  # the API itself wants a signature, like API Gateway with IAM auth
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0
