"""The report's sections: each reads the marts it draws (when the release holds them) into plotly figures.

A section whose mart is not in the release says so instead of drawing: the report of a release made before a
mart existed (or without it) stays truthful, and the section lights up in the first release that holds it.
Every number drawn comes straight from a mart's rows (sums over its own grain at most), so it can be checked
against the published file.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd
import plotly.graph_objects as go

from orchestration.reporting.claims import SEED_CLAIMS
from orchestration.reporting.marts import Marts

# Worst first: a cell of the sync heatmap shows the worst status of its source and day.
SYNC_STATUSES = ("ok", "not_yet_synced", "no_control_totals", "error")
SYNC_COLOURS = ("#4caf50", "#ffc107", "#9e9e9e", "#e53935")
ENGAGEMENT_TIERS = ("1", "2", "3+")


@dataclass
class Chart:
    chart_id: str
    figure: go.Figure
    caption: str = ""


@dataclass
class Section:
    key: str
    title: str
    intro: str
    charts: list[Chart] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # what this section draws from that the release lacks
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CheckOutcome:
    """The latest evaluation of one asset check, as plain values (the Dagster side converts its metadata)."""

    asset: str
    name: str
    passed: bool
    severity: str  # ERROR or WARN
    description: str | None = None
    metadata: dict = field(default_factory=dict)


def _listed(values) -> list:
    """Plain Python values for a figure: plotly keeps lists as lists (numpy arrays would be encoded as binary)."""
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and v != v) or v is pd.NaT:
            out.append(None)
        elif hasattr(v, "item"):  # numpy scalars
            out.append(v.item())
        elif hasattr(v, "isoformat"):
            out.append(v.isoformat()[:10] if getattr(v, "hour", 0) == 0 else v.isoformat())
        else:
            out.append(v)
    return out


def _layout(fig: go.Figure, title: str, **kwargs) -> go.Figure:
    fig.update_layout(title=title, template="plotly_white", margin=dict(l=60, r=20, t=50, b=60), **kwargs)
    return fig


# --- attribution -------------------------------------------------------------------------------------------


def attribution(marts: Marts) -> Section:
    section = Section(
        "attribution",
        "Attribution by model and channel",
        "The purchases each channel is credited with under each of the attribution models, side by side "
        "(agg_channel_attribution, over every conversion day of the release).",
    )
    if not marts.has("agg_channel_attribution", "model", "channel", "attributed_conversions", "attributed_revenue"):
        section.missing.append("agg_channel_attribution")
        return section
    by = marts.query(
        "select model, channel, sum(attributed_conversions)::double as conversions, "
        "sum(attributed_revenue)::double as revenue from {schema}.agg_channel_attribution "
        "group by all order by model, channel"
    )
    channels = sorted(by["channel"].unique())
    for measure, label in (("conversions", "conversions credited"), ("revenue", "revenue attributed")):
        fig = go.Figure()
        for model, rows in by.groupby("model", sort=True):
            rows = rows.set_index("channel").reindex(channels)
            fig.add_trace(go.Bar(name=model, x=channels, y=_listed(rows[measure])))
        _layout(fig, f"{label.capitalize()} per channel, by model", barmode="group", yaxis_title=label)
        section.charts.append(Chart(f"attribution-{measure}", fig))
    table = by.pivot(index="model", columns="channel", values="conversions").round(2).fillna(0)
    section.tables.append(("Conversions credited (model x channel)", table.reset_index()))
    return section


# --- journeys ----------------------------------------------------------------------------------------------


def transitions(marts: Marts) -> Section:
    section = Section(
        "transitions",
        "Channel transitions",
        "How customers move from one channel to the next (fct_channel_transition: consecutive engagement touches; "
        "'(end)' is the last touch of a journey), and the switches that most often come right before a purchase "
        "(agg_purchase_channel_switches).",
    )
    if marts.has("fct_channel_transition", "from_channel", "to_channel", "transitions"):
        flows = marts.query(
            "select from_channel, coalesce(nullif(to_channel, '(null)'), '(end)') as to_channel, "
            "sum(transitions)::bigint as transitions from {schema}.fct_channel_transition "
            "where from_channel is not null and transitions > 0 group by all order by 1, 2"
        )
        # Sources on the left, targets on the right: a channel on both sides is two nodes, so loops still draw.
        sources = sorted(flows["from_channel"].unique())
        targets = sorted(flows["to_channel"].unique())
        index = {("from", c): i for i, c in enumerate(sources)} | {
            ("to", c): len(sources) + i for i, c in enumerate(targets)
        }
        fig = go.Figure(
            go.Sankey(
                node=dict(label=[*sources, *targets], pad=12, thickness=14),
                link=dict(
                    source=[index["from", c] for c in flows["from_channel"]],
                    target=[index["to", c] for c in flows["to_channel"]],
                    value=_listed(flows["transitions"]),
                ),
            )
        )
        section.charts.append(Chart("transitions-sankey", _layout(fig, "Channel to next channel (transitions)")))
    else:
        section.missing.append("fct_channel_transition")
    if marts.has("agg_purchase_channel_switches", "from_channel", "to_channel", "transitions_before_purchase"):
        switches = marts.query(
            "select from_channel || ' -> ' || to_channel as switch, transitions_before_purchase::double as n "
            "from {schema}.agg_purchase_channel_switches where transitions_before_purchase > 0 "
            "order by transitions_before_purchase desc, switch limit 15"
        )
        fig = go.Figure(go.Bar(x=_listed(switches["n"]), y=_listed(switches["switch"]), orientation="h"))
        _layout(fig, "Switches right before a purchase", xaxis_title="purchases", yaxis=dict(autorange="reversed"))
        section.charts.append(Chart("transitions-before-purchase", fig))
    else:
        section.missing.append("agg_purchase_channel_switches")
    return section


# --- retention and the seeds' claims -----------------------------------------------------------------------


def _period_unit(cohorts: pd.DataFrame) -> str:
    later = cohorts[cohorts["months_since_first_purchase"] == 1]
    if later.empty or "period_start" not in cohorts:
        return "periods"
    days = (pd.to_datetime(later["period_start"]) - pd.to_datetime(later["cohort_month"])).dt.days.max()
    return "weeks" if days <= 7 else "months"


def retention(marts: Marts) -> Section:
    section = Section(
        "retention",
        "Retention by engagement tier, and the seeds' claims",
        "The share of each cohort's buyers who bought again in each period after their first purchase, pooled over "
        "cohorts (agg_retention_cohort: retained / customers, summed over the cohorts that reach the period), by "
        "the number of channels the customer answered on. Below, the claims the product is sold on beside what "
        "this data measures (agg_omnichannel_impact, agg_touches_before_purchase); these are associations, not "
        "effects.",
    )
    if marts.has("agg_retention_cohort", "engagement_tier", "months_since_first_purchase", "customers", "retained"):
        cohorts = marts.query("select * from {schema}.agg_retention_cohort")
        curves = marts.query(
            "select engagement_tier, months_since_first_purchase as period, sum(customers)::bigint as customers, "
            "sum(retained)::bigint as retained, sum(retained) / sum(customers) as retention "
            "from {schema}.agg_retention_cohort group by all order by 1, 2"
        )
        fig = go.Figure()
        for tier, rows in curves.groupby("engagement_tier", sort=True):
            fig.add_trace(
                go.Scatter(
                    name=f"{tier} channel{'s' if tier != '1' else ''}",
                    x=_listed(rows["period"]),
                    y=_listed(rows["retention"]),
                    mode="lines+markers",
                    customdata=_listed(rows["customers"]),
                    hovertemplate="%{y:.1%} of %{customdata} buyers<extra></extra>",
                )
            )
        unit = _period_unit(cohorts)
        _layout(
            fig,
            "Retention curve by engagement tier",
            xaxis_title=f"{unit} since first purchase",
            yaxis=dict(title="share of buyers who bought", tickformat=".0%", range=[0, 1.05]),
        )
        section.charts.append(Chart("retention-curves", fig))
        if (curves["period"] > 0).sum() == 0:
            section.notes.append(
                f"The history is shorter than one retention period ({unit}): every curve is its starting point. "
                "dbt var retention_period (env OMNI_RETENTION_PERIOD) sets the period."
            )
    else:
        section.missing.append("agg_retention_cohort")
    measured = _measured_claims(marts, section)
    if measured:
        claims = pd.DataFrame(
            [
                {
                    "claim": c.says,
                    "claimed": f"{c.low:.0%}" if c.low == c.high else f"{c.low:.0%}-{c.high:.0%}",
                    "measured": None if measured.get(c.key) is None else f"{measured[c.key]:.1%}",
                }
                if c.unit == "share"
                else {
                    "claim": c.says,
                    "claimed": f"{c.low:g}",
                    "measured": None if measured.get(c.key) is None else f"{measured[c.key]:g}",
                }
                for c in SEED_CLAIMS
            ]
        )
        section.tables.append(("The seeds' claims, measured", claims))
        shares = [c for c in SEED_CLAIMS if c.unit == "share"]
        fig = go.Figure(
            [
                go.Bar(
                    name="claimed",
                    x=[c.key for c in shares],
                    y=[(c.low + c.high) / 2 for c in shares],
                    error_y=dict(type="data", array=[(c.high - c.low) / 2 for c in shares], visible=True),
                ),
                go.Bar(name="measured", x=[c.key for c in shares], y=[measured.get(c.key) for c in shares]),
            ]
        )
        _layout(fig, "Claimed against measured", barmode="group", yaxis=dict(tickformat=".0%"))
        section.charts.append(Chart("claims-measured", fig))
    if marts.has("agg_touches_before_purchase", "touches", "conversions"):
        touches = marts.query(
            "select touches, conversions::bigint as conversions from {schema}.agg_touches_before_purchase order by 1"
        )
        claim = next(c for c in SEED_CLAIMS if c.key == "touches_before_purchase")
        fig = go.Figure(go.Bar(x=_listed(touches["touches"]), y=_listed(touches["conversions"]), name="purchases"))
        fig.add_vline(x=claim.low, line_dash="dash", annotation_text=f"claimed: about {claim.low:g}")
        _layout(fig, "Engagement touches before a purchase", xaxis_title="touches", yaxis_title="purchases")
        section.charts.append(Chart("touches-before-purchase", fig))
    return section


def _measured_claims(marts: Marts, section: Section) -> dict[str, float | None]:
    measured: dict[str, float | None] = {}
    if marts.has("agg_omnichannel_impact", "engagement_group", "retention_rate", "open_rate", "conversion_rate"):
        impact = marts.query("select * from {schema}.agg_omnichannel_impact").set_index("engagement_group")
        groups = {"multi_channel", "single_channel"}

        def value(group: str, column: str) -> float | None:
            v = impact[column].get(group) if group in impact.index else None
            return None if v is None or pd.isna(v) else float(v)

        def lift(column: str) -> float | None:
            multi, single = value("multi_channel", column), value("single_channel", column)
            return None if multi is None or not single else multi / single - 1

        if groups <= set(impact.index):
            measured["retention_multi_channel"] = value("multi_channel", "retention_rate")
            measured["retention_single_channel"] = value("single_channel", "retention_rate")
            measured["open_rate_lift"] = lift("open_rate")
            measured["conversion_rate_lift"] = lift("conversion_rate")
    else:
        section.missing.append("agg_omnichannel_impact")
    if marts.has("agg_touches_before_purchase", "touches", "cumulative_share"):
        median = marts.query(
            "select min(touches) as median from {schema}.agg_touches_before_purchase where cumulative_share >= 0.5"
        )["median"].iloc[0]
        measured["touches_before_purchase"] = None if pd.isna(median) else float(median)
    else:
        section.missing.append("agg_touches_before_purchase")
    return measured


# --- sync accuracy -----------------------------------------------------------------------------------------


def sync_accuracy(marts: Marts) -> Section:
    section = Section(
        "sync",
        "Sync accuracy by source and day",
        "Each cell is one source's event day: the worst status of its metrics against the source's own control "
        "totals (agg_sync_accuracy). Red blocks publication; amber is still inside the settling window.",
    )
    if not marts.has("agg_sync_accuracy", "source", "event_date", "status"):
        section.missing.append("agg_sync_accuracy")
        return section
    cells = sync_cells(marts)
    days = sorted(cells["event_date"].unique())
    sources = sorted(cells["source"].unique())
    grid = cells.pivot(index="source", columns="event_date", values="worst").reindex(index=sources, columns=days)
    text = cells.pivot(index="source", columns="event_date", values="label").reindex(index=sources, columns=days)
    n = len(SYNC_STATUSES)
    scale = []
    for i, colour in enumerate(SYNC_COLOURS):
        scale += [[i / n, colour], [(i + 1) / n, colour]]
    fig = go.Figure(
        go.Heatmap(
            z=[_listed(r) for r in grid.to_numpy()],
            x=_listed(days),
            y=sources,
            text=[_listed(r) for r in text.to_numpy()],
            hovertemplate="%{y} %{x}<br>%{text}<extra></extra>",
            colorscale=scale,
            zmin=-0.5,
            zmax=n - 0.5,
            xgap=2,
            ygap=2,
            colorbar=dict(tickvals=list(range(n)), ticktext=list(SYNC_STATUSES)),
        )
    )
    _layout(fig, "Worst sync status per source and event day", xaxis=dict(type="category"))
    section.charts.append(Chart("sync-heatmap", fig))
    if marts.has("agg_sync_accuracy", "metric", "control_value", "warehouse_value", "abs_difference"):
        errors = marts.query(
            "select source, event_date, metric, control_value, warehouse_value, abs_difference "
            "from {schema}.agg_sync_accuracy where status = 'error' order by source, event_date, metric limit 50"
        )
        if not errors.empty:
            section.tables.append(("Source days that disagree with their control totals (first 50)", errors))
    counts = cells["status"].value_counts()
    section.notes.append(
        "Source days: " + ", ".join(f"{counts.get(s, 0)} {s}" for s in SYNC_STATUSES if counts.get(s, 0))
    )
    return section


def sync_cells(marts: Marts) -> pd.DataFrame:
    """One row per source and event day: the worst status (and its rank in SYNC_STATUSES) and a hover label."""
    rank = " ".join(f"when '{s}' then {i}" for i, s in enumerate(SYNC_STATUSES))
    cells = marts.query(
        f"""select source, event_date::varchar as event_date,
                  max(case status {rank} else {len(SYNC_STATUSES) - 1} end) as worst,
                  count(*) filter (where status = 'error') as metrics_off, count(*) as metrics
           from {{schema}}.agg_sync_accuracy group by all order by 1, 2"""
    )
    cells["status"] = [SYNC_STATUSES[int(w)] for w in cells["worst"]]
    cells["label"] = [
        f"{s}: {off} of {n} metrics off" for s, off, n in zip(cells["status"], cells["metrics_off"], cells["metrics"])
    ]
    return cells


# --- contact policy ----------------------------------------------------------------------------------------


def pressure(marts: Marts) -> Section:
    section = Section(
        "pressure",
        "Message pressure and frequency-cap breaches",
        "Marketing messages sent per channel and day (fct_message_pressure; transactional messages are counted "
        "apart and never capped), and every breach of the cross-channel and per-channel caps and quiet hours "
        "(fct_frequency_violation).",
    )
    if marts.has("fct_message_pressure", "customer_id", "channel"):
        cols = marts.columns("fct_message_pressure")
        measure = "sum(marketing_messages)" if "marketing_messages" in cols else "count(*)"
        label = "marketing messages" if "marketing_messages" in cols else "customer days with messages"
        if "message_date" in cols:
            daily = marts.query(
                f"select message_date::varchar as day, channel, {measure}::bigint as n "
                "from {schema}.fct_message_pressure group by all order by 1, 2"
            )
            fig = go.Figure()
            for channel, rows in daily.groupby("channel", sort=True):
                fig.add_trace(go.Bar(name=channel, x=_listed(rows["day"]), y=_listed(rows["n"])))
            _layout(fig, f"{label.capitalize()} per day and channel", barmode="stack", xaxis=dict(type="category"))
        else:
            per_channel = marts.query(
                f"select channel, {measure}::bigint as n from {{schema}}.fct_message_pressure group by 1 order by 1"
            )
            fig = go.Figure(go.Bar(x=_listed(per_channel["channel"]), y=_listed(per_channel["n"])))
            _layout(fig, f"{label.capitalize()} per channel")
        section.charts.append(Chart("pressure-daily", fig))
        if "marketing_messages" in cols and "message_date" in cols:
            per_day = marts.query(
                "select n, count(*)::bigint as customer_days from (select customer_id, message_date, "
                "sum(marketing_messages) as n from {schema}.fct_message_pressure group by all) "
                "where n > 0 group by 1 order by 1"
            )
            fig = go.Figure(go.Bar(x=_listed(per_day["n"]), y=_listed(per_day["customer_days"])))
            _layout(
                fig,
                "Marketing messages a customer got in one day, across channels",
                xaxis_title="messages",
                yaxis_title="customer days",
            )
            section.charts.append(Chart("pressure-per-customer-day", fig))
    else:
        section.missing.append("fct_message_pressure")
    if marts.has("fct_frequency_violation", "customer_id"):
        cols = marts.columns("fct_frequency_violation")
        kind = "violation_type" if "violation_type" in cols else "'breach'"
        breaches = marts.query(
            f"select {kind} as kind, count(*)::bigint as breaches, count(distinct customer_id)::bigint as customers "
            "from {schema}.fct_frequency_violation group by 1 order by 1"
        )
        fig = go.Figure(
            [
                go.Bar(name="breaches", x=_listed(breaches["kind"]), y=_listed(breaches["breaches"])),
                go.Bar(name="customers", x=_listed(breaches["kind"]), y=_listed(breaches["customers"])),
            ]
        )
        _layout(fig, "Frequency-cap and quiet-hour breaches", barmode="group")
        section.charts.append(Chart("frequency-breaches", fig))
        if breaches.empty:
            section.notes.append("No message broke a cap or quiet hours.")
    else:
        section.missing.append("fct_frequency_violation")
    return section


def consent(marts: Marts) -> Section:
    section = Section(
        "consent",
        "Consent and preference compliance per channel",
        "The share of marketing messages that respected the customer's consent (agg_preference_compliance), the "
        "messages sent after an opt-out past the grace period (fct_preference_violation), and where consent stands "
        "now (fct_consent, the current period of each customer and channel).",
    )
    if marts.has("agg_preference_compliance", "channel"):
        cols = marts.columns("agg_preference_compliance")
        if {"message_date", "compliance_rate"} <= cols:
            rates = marts.query(
                "select channel, message_date::varchar as day, compliance_rate::double as rate "
                "from {schema}.agg_preference_compliance order by 1, 2"
            )
            fig = go.Figure()
            for channel, rows in rates.groupby("channel", sort=True):
                fig.add_trace(
                    go.Scatter(name=channel, x=_listed(rows["day"]), y=_listed(rows["rate"]), mode="lines+markers")
                )
            _layout(
                fig, "Compliance rate per channel and day", yaxis=dict(tickformat=".1%"), xaxis=dict(type="category")
            )
        else:
            rates = marts.query(
                "select channel, count(*)::bigint as n from {schema}.agg_preference_compliance group by 1"
            )
            fig = go.Figure(go.Bar(x=_listed(rates["channel"]), y=_listed(rates["n"])))
            _layout(fig, "Compliance rows per channel")
        section.charts.append(Chart("consent-compliance", fig))
    else:
        section.missing.append("agg_preference_compliance")
    if marts.has("fct_preference_violation", "customer_id", "channel"):
        cols = marts.columns("fct_preference_violation")
        past = "coalesce(is_past_legal_limit, false)" if "is_past_legal_limit" in cols else "false"
        violations = marts.query(
            f"select channel, count(*) filter (where not {past})::bigint as within_legal_limit, "
            f"count(*) filter (where {past})::bigint as past_legal_limit "
            "from {schema}.fct_preference_violation group by 1 order by 1"
        )
        fig = go.Figure(
            [
                go.Bar(
                    name="after the grace period",
                    x=_listed(violations["channel"]),
                    y=_listed(violations["within_legal_limit"]),
                ),
                go.Bar(
                    name="past the legal limit",
                    x=_listed(violations["channel"]),
                    y=_listed(violations["past_legal_limit"]),
                ),
            ]
        )
        _layout(fig, "Messages sent after an opt-out", barmode="stack")
        section.charts.append(Chart("preference-violations", fig))
        if violations.empty:
            section.notes.append("No message went out after an opt-out past the grace period.")
    else:
        section.missing.append("fct_preference_violation")
    if marts.has("fct_consent", "customer_id", "channel", "status", "valid_to"):
        current = marts.query(
            "select channel, status, count(distinct customer_id)::bigint as customers from {schema}.fct_consent "
            "where valid_to is null group by all order by 1, 2"
        )
        fig = go.Figure()
        for status, rows in current.groupby("status", sort=True):
            fig.add_trace(go.Bar(name=str(status), x=_listed(rows["channel"]), y=_listed(rows["customers"])))
        _layout(fig, "Consent now, per channel", barmode="stack", yaxis_title="customers")
        section.charts.append(Chart("consent-now", fig))
    else:
        section.missing.append("fct_consent")
    return section


# --- lifetime value ----------------------------------------------------------------------------------------

BACKTEST_KEYS = ("predicted_holdout_purchases", "actual_holdout_purchases")


def lifetime_value(marts: Marts, checks: Sequence[CheckOutcome]) -> Section:
    section = Section(
        "lifetime_value",
        "Customer lifetime value",
        "The predicted 12-month value of each purchasing customer (customer_lifetime_value), by RFM segment and by "
        "acquisition channel (agg_channel_lifetime_value), and the back-test: the model fitted on the history up to "
        "a calibration date, its predicted holdout purchases against the actual ones.",
    )
    if marts.has("customer_lifetime_value", "customer_id", "predicted_value_12m", "historical_revenue", "rfm_segment"):
        values = marts.query(
            "select predicted_value_12m::double as predicted, historical_revenue::double as historical "
            "from {schema}.customer_lifetime_value order by customer_id"
        )
        fig = go.Figure(go.Histogram(name="revenue to date", x=_listed(values["historical"]), opacity=0.6))
        predicted = values["predicted"].dropna()
        if not predicted.empty:  # a history too short to fit the model predicts nothing: no empty trace drawn
            fig.add_trace(go.Histogram(name="predicted 12-month value", x=_listed(predicted), opacity=0.6))
        _layout(fig, "Lifetime value per customer", barmode="overlay", xaxis_title="value", yaxis_title="customers")
        section.charts.append(Chart("ltv-distribution", fig))
        segments = marts.query(
            "select rfm_segment, count(*)::bigint as customers, sum(predicted_value_12m)::double as predicted, "
            "sum(historical_revenue)::double as historical from {schema}.customer_lifetime_value "
            "group by 1 order by predicted desc nulls last, 1"
        )
        fig = go.Figure(
            [
                go.Bar(name="revenue to date", x=_listed(segments["rfm_segment"]), y=_listed(segments["historical"])),
                go.Bar(
                    name="predicted 12-month value",
                    x=_listed(segments["rfm_segment"]),
                    y=_listed(segments["predicted"]),
                ),
            ]
        )
        _layout(fig, "Value by RFM segment", barmode="group")
        section.charts.append(Chart("ltv-segments", fig))
        missing = values["predicted"].isna().sum()
        if missing:
            section.notes.append(f"{missing} of {len(values)} customers have no value prediction.")
    else:
        section.missing.append("customer_lifetime_value")
    if marts.has("agg_channel_lifetime_value", "model", "channel", "predicted_value_12m"):
        by_channel = marts.query(
            "select model, channel, sum(predicted_value_12m)::double as predicted "
            "from {schema}.agg_channel_lifetime_value group by all order by 1, 2"
        )
        fig = go.Figure()
        for model, rows in by_channel.groupby("model", sort=True):
            fig.add_trace(go.Bar(name=str(model), x=_listed(rows["channel"]), y=_listed(rows["predicted"])))
        _layout(fig, "Predicted 12-month value by channel", barmode="group")
        section.charts.append(Chart("ltv-channels", fig))
    else:
        section.missing.append("agg_channel_lifetime_value")
    backtest = next((c for c in checks if all(k in c.metadata for k in BACKTEST_KEYS)), None)
    if backtest is None:
        section.missing.append("the lifetime-value back-test check")
        return section
    meta = backtest.metadata
    rows = pd.DataFrame(meta.get("by_calibration_frequency") or [])
    if {"calibration_repeat_purchases", "predicted_total", "actual_total"} <= set(rows.columns):
        fig = go.Figure(
            [
                go.Bar(
                    name="predicted",
                    x=_listed(rows["calibration_repeat_purchases"]),
                    y=_listed(rows["predicted_total"]),
                ),
                go.Bar(name="actual", x=_listed(rows["calibration_repeat_purchases"]), y=_listed(rows["actual_total"])),
            ]
        )
        _layout(
            fig,
            "Back-test: holdout purchases, predicted against actual",
            barmode="group",
            xaxis=dict(title="repeat purchases in the calibration period", type="category"),
        )
    else:
        fig = go.Figure(
            go.Bar(
                x=["predicted", "actual"],
                y=[meta["predicted_holdout_purchases"], meta["actual_holdout_purchases"]],
            )
        )
        _layout(fig, "Back-test: holdout purchases, predicted against actual")
    section.charts.append(Chart("ltv-backtest", fig))
    section.notes.append(
        f"Back-test ({backtest.asset}:{backtest.name}, {'passed' if backtest.passed else 'missed'}): "
        + (backtest.description or "")
    )
    return section


# --- the checks behind a publication -----------------------------------------------------------------------


def checks_table(checks: Sequence[CheckOutcome]) -> pd.DataFrame:
    """Every check that did not pass, worst first, with what it said."""
    rows = [
        {
            "check": f"{c.asset}:{c.name}",
            "outcome": "failed" if c.severity == "ERROR" else "warned",
            "what": (c.description or "")[:300],
        }
        for c in checks
        if not c.passed
    ]
    return pd.DataFrame(rows, columns=["check", "outcome", "what"]).sort_values(["outcome", "check"])


SectionBuilder = Callable[[Marts, Sequence[CheckOutcome]], Section]

SECTIONS: tuple[SectionBuilder, ...] = (
    lambda marts, checks: attribution(marts),
    lambda marts, checks: transitions(marts),
    lambda marts, checks: retention(marts),
    lambda marts, checks: sync_accuracy(marts),
    lambda marts, checks: pressure(marts),
    lambda marts, checks: consent(marts),
    lifetime_value,
)
