"""The web dashboard's HTML: the API's figures as tables, the charts as inline SVG, a period
form (plain GET, no JavaScript) and the message pages (sign in, refused, bad input)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from html import escape

from bot.insight.dashboard import Dashboard, Period
from bot.web.svg import Chart, percent, render

STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; color: #1d1c1d; background: #f8f8f8; }
header { background: #3f0e40; color: #fff; padding: 12px 24px; }
main { padding: 16px 24px; max-width: 1540px; }
h1 { font-size: 20px; margin: 0; } h2 { font-size: 16px; margin: 0 0 8px; }
form { display: flex; gap: 12px; align-items: end; flex-wrap: wrap; margin-bottom: 16px; }
label { display: flex; flex-direction: column; font-size: 12px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(360px, 1fr)); gap: 16px; }
.card { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 12px; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(740px, 1fr)); gap: 16px;
          margin-top: 16px; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
td, th { text-align: left; padding: 3px 6px; border-bottom: 1px solid #eee; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
svg.chart { width: 100%; height: auto; max-width: 960px; }
.unit { color: #666; font-size: 12px; margin: 0 0 4px; }
.message { max-width: 640px; margin: 48px auto; }
"""


def _document(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<header><h1>purchasebot · {escape(title)}</h1></header><main>{body}</main></body></html>"
    )


def message_page(title: str, message: str, hint: str = "") -> str:
    """A page that says what went wrong and what to do: never a stack trace."""
    more = f"<p>{escape(hint)}</p>" if hint else ""
    return _document(
        title,
        f"<div class='card message' role='alert'><h2>{escape(title)}</h2>"
        f"<p>{escape(message)}</p>{more}</div>",
    )


def _figure(value: object, kind: str = "") -> str:
    if value is None:
        return "—"
    if kind == "rate" and isinstance(value, float):
        return percent(value)
    if kind == "seconds" and isinstance(value, float):
        return f"{value:,.1f} s"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    return escape(str(value))


def _table(rows: Iterable[tuple[str, str]]) -> str:
    cells = "".join(
        f"<tr><th>{escape(name)}</th><td class='num' data-figure='{escape(name)}'>{value}</td></tr>"
        for name, value in rows
    )
    return f"<table>{cells}</table>"


def _card(title: str, content: str) -> str:
    return f"<section class='card'><h2>{escape(title)}</h2>{content}</section>"


def _kind(name: str) -> str:
    if name.endswith(("_rate", "precision", "approval_time_reduction")):
        return "rate"
    if name.endswith(("_s", "_time", "_p99")):
        return "seconds"
    return ""


def _section(title: str, figures: dict[str, object]) -> str:
    return _card(title, _table((k, _figure(v, _kind(k))) for k, v in figures.items()))


def _departments(dashboard: Dashboard) -> str:
    head = "<tr><th>department</th><th>requests</th><th>auto-approval</th><th>avg amount</th></tr>"
    rows = "".join(
        f"<tr data-department='{escape(name)}'><td>{escape(name)}</td>"
        f"<td class='num'>{d.requests}</td><td class='num'>{percent(d.auto_approval)}</td>"
        f"<td class='num'>{escape(d.avg_amount or '—')} {escape(d.currency or '')}</td></tr>"
        for name, d in dashboard.department_breakdown.items()
    )
    return _card("Departments", f"<table>{head}{rows}</table>")


def _day_after(instant: datetime) -> date:
    """The first midnight at or after `instant`: as an exclusive end date in the form, the
    default period (up to now) keeps today's requests when the form is sent back."""
    day = instant.date()
    return day if instant.timetz() == time(tzinfo=instant.tzinfo) else day + timedelta(days=1)


def _period_form(period: Period, departments: Sequence[str]) -> str:
    options = "".join(
        f"<option value='{escape(name)}'{' selected' if name == period.department else ''}>"
        f"{escape(name)}</option>"
        for name in ["", *departments]
    ).replace("<option value=''>", "<option value=''>all departments", 1)
    return (
        "<form method='get' action='/dashboard'>"
        f"<label>since <input type='date' name='since' value='{period.since.date()}'></label>"
        f"<label>until (exclusive) <input type='date' name='until' "
        f"value='{_day_after(period.until)}'></label>"
        f"<label>department <select name='department'>{options}</select></label>"
        "<button type='submit'>Show</button></form>"
    )


def _chart(chart: Chart) -> str:
    unit = f"<p class='unit'>{escape(chart.unit)}</p>" if chart.unit else ""
    return f"<figure class='card'><h2>{escape(chart.title)}</h2>{unit}{render(chart)}</figure>"


def dashboard_page(
    dashboard: Dashboard, charts: Sequence[Chart], departments: Sequence[str], viewer: str
) -> str:
    period = dashboard.period
    scope = period.department or "all departments"
    intro = (
        f"<p>Requests filed from {escape(period.since.isoformat())} to "
        f"{escape(period.until.isoformat())} (exclusive), {escape(scope)}. Signed in as "
        f"{escape(viewer)}. Definitions: the README, “Dashboard API”.</p>"
    )
    cards = "".join(
        [
            _section("Counts", dashboard.counts.model_dump()),
            _section("Automated review", dashboard.automated_review_metrics.model_dump()),
            _section("Deployment", dashboard.deployment_metrics.model_dump()),
            _section("KPIs", dashboard.kpis.model_dump()),
            _departments(dashboard),
        ]
    )
    body = (
        _period_form(period, departments)
        + intro
        + f"<div class='grid'>{cards}</div>"
        + f"<div class='charts'>{''.join(_chart(c) for c in charts)}</div>"
    )
    return _document("Dashboard", body)
