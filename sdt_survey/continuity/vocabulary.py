"""The words of a schedule: its sides, columns and problem kinds (no numerical library, for the command line).

:mod:`.schedule` reads and checks a schedule with them; the command line's
help quotes them without loading the readers.
"""

from __future__ import annotations

SIDES = ("learner", "faculty")
INVALID_POLICIES = ("error", "drop")
REPORT_COLUMNS = ["row", "learner", "faculty", "column", "value", "problem", "severity", "message", "action"]
#: Severity of each problem kind in the report.
PROBLEM_SEVERITY = {
    "missing_id": "error",
    "missing_date": "error",
    "invalid_date": "error",
    "missing_assigned": "warning",
    "duplicate_row": "warning",
    "blank_line": "info",
    "outside_setting": "info",
    "outside_window": "info",
}
#: The default time column of a schedule: what ``simulate`` writes and every command reads by default.
#: A schedule without it but with a ``date`` column is read by that one (the earlier default).
TIME_COLUMN = "session_date"
#: Column names commonly used for each role in scheduling exports (for did-you-mean hints).
ROLE_SYNONYMS = {
    "learner": ("resident", "trainee", "student", "fellow", "learner_id", "resident_id", "person"),
    "faculty": ("preceptor", "attending", "supervisor", "provider", "faculty_id", "staff", "physician"),
    "time": ("session_date", "date", "shift_date", "start_date", "start", "datetime", "day", "timestamp"),
    "assigned": ("assigned", "assigned_preceptor", "preceptor", "usual_preceptor"),
    "setting": ("setting", "location", "site", "clinic", "assignment", "shift", "type"),
}
