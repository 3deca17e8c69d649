"""The readable export of a review: CSV that Excel opens with its Chinese intact."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

from query_logs.review.model import ReviewReport

CSV_HEADER = (
    "严重程度 severity", "规则 rule", "规则说明 description", "用户 user",
    "开始时间 first (local)", "结束时间 last (local)", "申请 applications",
    "日志条目 entries", "摘要 summary",
)  # fmt: skip
NOT_CHECKED = "未检查 not checked"
# A cell starting with one of these is a formula to a spreadsheet (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """Text for a spreadsheet cell; a leading formula character is neutralised with a quote."""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def review_csv(report: ReviewReport, zone: ZoneInfo) -> bytes:
    """One row per finding, most severe first, then one row per gap (what was not checked, so a
    short export is not mistaken for a clean one). UTF-8 with a BOM; times in ``zone``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    rules = {rule.id: rule for rule in report.rules}

    def local(moment: datetime) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")

    for f in report.findings:
        writer.writerow(safe_cell(v) for v in (
            f.severity, f.rule, rules[f.rule].description_zh, f.actor, local(f.first_ts),
            local(f.last_ts), " ".join(f.application_ids), " ".join(map(str, f.entry_seqs)),
            f.summary,
        ))  # fmt: skip
    for gap in report.gaps:
        writer.writerow(safe_cell(v) for v in (
            NOT_CHECKED, gap.rule, rules[gap.rule].description_zh, " ".join(gap.actors),
            "", "", "", "", f"{gap.reason_zh} / {gap.reason_en}",
        ))  # fmt: skip
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
