"""What a user's fresh clone must hold: nothing may point outside the repository."""
from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def tracked_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [ROOT / line for line in out.splitlines() if (ROOT / line).is_file()]


def test_no_file_points_at_a_folder_outside_the_clone():
    outside = "../" + "shared"
    offenders = [str(p.relative_to(ROOT)) for p in tracked_files()
                 if outside in p.read_text(encoding="utf-8", errors="ignore")]
    assert offenders == []


def test_the_readme_links_the_design_document_that_exists():
    assert "docs/design.md" in (ROOT / "README.md").read_text()
    assert (ROOT / "docs" / "design.md").is_file()


def test_make_test_names_the_browser_packages_when_it_cannot_install_them(tmp_path):
    """A user without root or sudo gets one line naming what to install, not a failing test later."""
    (tmp_path / "id").write_text("#!/bin/sh\necho 1000\n")
    (tmp_path / "sudo").write_text("#!/bin/sh\nexit 1\n")
    for tool in ("id", "sudo"):
        (tmp_path / tool).chmod(0o755)
    make = subprocess.run(["/usr/bin/make", "-s", "-C", str(ROOT), "browser"], env={"PATH": str(tmp_path)},
                          capture_output=True, text=True)
    assert make.returncode != 0
    assert make.stderr.strip().splitlines()[0] == (
        "make test needs Debian's chromium and chromium-driver: sudo apt-get install chromium chromium-driver")


def test_the_workflows_have_no_zizmor_finding_of_medium_severity_or_above():
    import json
    import shutil
    import sys

    zizmor = shutil.which("zizmor") or str(Path(sys.executable).with_name("zizmor"))
    run = subprocess.run([zizmor, "--offline", "--min-severity", "medium", "--format", "json",
                          str(ROOT / ".github" / "workflows")], capture_output=True, text=True)
    findings = json.loads(run.stdout)
    assert [(f["ident"], f["locations"][0]["symbolic"]["key"]) for f in findings] == []
    assert run.returncode == 0


def test_every_action_is_pinned_to_a_commit_and_checkout_keeps_no_credentials():
    import re

    for workflow in (ROOT / ".github" / "workflows").glob("*.yml"):
        text = workflow.read_text()
        for ref in re.findall(r"uses:\s*([^\s#]+)", text):
            if not ref.startswith("./"):
                assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref), f"{workflow.name}: {ref}"
        assert text.count("actions/checkout@") == text.count("persist-credentials: false"), workflow.name


def _workflow(name: str) -> dict:
    import yaml

    return yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())


def test_deploy_and_preview_run_the_four_stacks_in_order_with_the_gate_before_test_and_prod():
    for name, command in (("deploy.yml", "up"), ("preview.yml", "preview")):
        jobs = _workflow(name)["jobs"]
        assert [jobs[s]["with"]["stack"] for s in ("shared", "dev", "test", "prod")] == ["shared", "dev", "test", "prod"]
        assert [jobs[s].get("needs") for s in ("dev", "test", "prod")] == ["shared", "dev", "test"], name
        assert {s: jobs[s]["with"].get("gate", False) for s in ("shared", "dev", "test", "prod")} == {
            "shared": False, "dev": False, "test": True, "prod": True}, name
        assert {jobs[s]["with"]["command"] for s in ("shared", "dev", "test", "prod")} == {command}
        assert all(jobs[s]["uses"] == "./.github/workflows/stack.yml" for s in ("shared", "dev", "test", "prod"))


def test_a_stack_job_runs_pulumi_with_the_policy_pack_and_federated_credentials_only():
    stack = _workflow("stack.yml")
    job = stack["jobs"]["pulumi"]
    assert job["environment"] == "${{ inputs.stack }}"  # prod's environment carries the required reviewers
    assert job["permissions"] == {"contents": "read", "id-token": "write", "pull-requests": "write"}
    steps = {s.get("uses", "").split("@")[0]: s for s in job["steps"] if "uses" in s}
    pulumi = [s for s in job["steps"] if s.get("uses", "").startswith("pulumi/actions@") and "with" in s][0]["with"]
    assert (pulumi["command"], pulumi["policyPacks"], pulumi["policyPackConfigs"]) == (
        "${{ inputs.command }}", "policies", "policy-config.json")
    assert "pulumi/auth-actions" in steps and "aws-actions/configure-aws-credentials" in steps
    gate = [s for s in job["steps"] if "govctl gate" in s.get("run", "")][0]
    assert gate["if"] == "inputs.gate"
    assert "PULUMI_ACCESS_TOKEN" not in (ROOT / ".github" / "workflows" / "stack.yml").read_text()
