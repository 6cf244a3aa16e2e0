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
