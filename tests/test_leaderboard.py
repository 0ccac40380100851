"""Leaderboard rendering: Markdown tables stay tables whatever their cells hold."""

from __future__ import annotations

import re

from phasebench.suites.leaderboard import table
from phasebench.suites.tasks import get_task


def cells(line: str) -> list:
    """The cells of a Markdown table row: split at the pipes that are not escaped."""
    return re.split(r"(?<!\\)\|", line.strip())[1:-1]


def test_pipes_inside_cells_are_escaped():
    header = ["family", "|T_c^ - T_c|/T_c", "method"]
    rows = [["linear", "0.58%", "Phi = E|f_r - f_global|^2"], ["cnn", "already \\| escaped", 3]]
    lines = table(header, rows).splitlines()
    assert all(len(cells(line)) == 3 for line in lines)
    assert cells(lines[0])[1].strip() == "\\|T_c^ - T_c\\|/T_c"
    assert cells(lines[3])[1].strip() == "already \\| escaped"  # not escaped twice


def test_real_task_headers_render_as_tables():
    for name in ("ising-temperature", "toric-bitflip", "toric-gaussian"):
        header, _ = get_task(name).leaderboard_rows({})
        assert len(cells(table(header, []).splitlines()[0])) == len(header), name


def test_noise_tables_name_their_own_level():
    header, _ = get_task("toric-gaussian").leaderboard_rows({})
    assert any("worst lambda per r" in h for h in header) and not any("worst p " in h for h in header)
    header, _ = get_task("toric-bitflip").leaderboard_rows({})
    assert any("worst p per r" in h for h in header)
