"""Times journeys and all seven attribution models on synthetic engagement at scale.

    .venv/bin/python benchmarks/attribution.py [--conversions 1000000] [--touches-per-conversion 24]
                                               [--workdir /tmp/omni-attribution]

Writes fct_touchpoint and fct_conversion shaped tables straight into a scratch warehouse (untimed: simulating and
stitching a world with a million purchases would take far longer than what is measured), then times `dbt run` of
everything downstream of them, and reports two parts from dbt's own per-model timings:
- journeys: int_journey_touches, fct_journey, fct_channel_transition;
- the seven attribution models: the rule-based credits, the Markov and Shapley inputs and exact solutions,
  fct_attribution and agg_channel_attribution.
dbt runs models side by side (threads), so the parts' sums can exceed the wall time.
"""

import time
from pathlib import Path

import duckdb

from orchestration.channels import registry

from _harness import PeakMemory, argument_parser, pipeline, run_dbt

JOURNEY_MODELS = {"int_journey_touches", "fct_journey", "fct_channel_transition"}
# How often each channel shows up in a path; rarer channels make the Shapley game's coalitions uneven, as in life.
# A channel of the registry not named here is as rare as the rarest.
CHANNEL_WEIGHTS = {
    "email": 0.24,
    "sms": 0.08,
    "push": 0.10,
    "web": 0.22,
    "app": 0.12,
    "ads": 0.12,
    "social": 0.06,
    "store": 0.03,
    "support": 0.03,
}


def channel_weights() -> dict[str, float]:
    """fct_touchpoint's channels (the channel registry's) and how often each shows up."""
    return {c: CHANNEL_WEIGHTS.get(c, min(CHANNEL_WEIGHTS.values())) for c in registry().touchpoint_channels()}


def write_engagement(path: Path, conversions: int, touches_per_conversion: int, seed: int) -> None:
    """Customers with one to three purchases each, engagement before them and after the last, in 90 days."""
    weights = channel_weights()
    cumulative = []
    total = 0.0
    for weight in weights.values():
        total += weight
        cumulative.append(total)
    channel_case = (
        "case "
        + " ".join(f"when u < {edge / total:.6f} then '{channel}'" for channel, edge in zip(weights, cumulative))
        + f" else '{list(weights)[-1]}' end"
    )
    customers = max(1, int(conversions / 1.6))
    touches = conversions * touches_per_conversion
    with duckdb.connect(str(path)) as con:
        con.execute(f"select setseed({seed / 1000})")
        con.execute("create schema if not exists marts")
        con.execute(f"""
            create or replace table marts.fct_conversion as
            select
                'conv-' || lpad(cast(i as varchar), 9, '0') as conversion_id,
                'cus-' || lpad(cast(i % {customers} as varchar), 9, '0') as customer_id,
                timestamp '2026-01-01' + to_seconds(cast(random() * 90 * 86400 as bigint)) as converted_at,
                cast(round(5 + random() * 200, 2) as decimal(18, 2)) as revenue,
                'USD' as currency,
                case when random() < 0.5 then 'web' when random() < 0.6 then 'app' else 'store' end as purchase_channel,
                cast(i as varchar) as order_ref
            from range({conversions}) as t(i)""")
        con.execute(f"""
            create or replace table marts.fct_touchpoint as
            with draws as (
                select i, random() as u, random() as v, random() as w
                from range({touches}) as t(i)
            )
            select
                'tp-' || lpad(cast(i as varchar), 10, '0') as touchpoint_id,
                -- Heavier customers get more touches: a skewed draw over the customer ids.
                'cus-' || lpad(cast(cast(pow(v, 1.3) * {customers} as bigint) % {customers} as varchar), 9, '0')
                    as customer_id,
                timestamp '2025-12-01' + to_seconds(cast(w * 120 * 86400 as bigint)) as occurred_at,
                cast(null as date) as event_date,
                {channel_case} as channel,
                'click' as touch_type,
                'inbound' as direction,
                'cmp-' || cast(cast(u * 1000 as bigint) % 7 as varchar) as campaign_id,
                case i % 3 when 0 then 'ios' when 1 then 'android' else 'desktop' end as device_type,
                cast(null as varchar) as session_id,
                false as is_session_start,
                {channel_case} as engagement_channel
            from draws""")


def main() -> int:
    parser = argument_parser(__doc__, workdir="/tmp/omni-attribution", seed=1)
    parser.add_argument("--conversions", type=int, default=1_000_000)
    parser.add_argument("--touches-per-conversion", type=int, default=24)
    args = parser.parse_args()

    memory = PeakMemory.start()
    work = pipeline(args.workdir, fresh=True)
    started = time.perf_counter()
    write_engagement(work.warehouse, args.conversions, args.touches_per_conversion, args.seed)
    print(
        f"synthetic engagement: {args.conversions:,} conversions, "
        f"{args.conversions * args.touches_per_conversion:,} engagement touches in {time.perf_counter() - started:.1f} s"
    )

    run = run_dbt(work, ["int_journey_touches+"], what="dbt attribution models")
    timings = run.model_seconds
    for model, model_seconds in sorted(timings.items(), key=lambda item: -item[1]):
        print(f"  {model:<40} {model_seconds:6.1f} s")
    journeys = sum(t for m, t in timings.items() if m in JOURNEY_MODELS)
    attribution = sum(t for m, t in timings.items() if m not in JOURNEY_MODELS)
    with duckdb.connect(str(work.warehouse), read_only=True) as con:
        journey_rows, converting, path_touches = con.execute(
            "select count(*), count(conversion_id), sum(touches) from marts.fct_journey"
        ).fetchall()[0]
        credit_rows, models = con.execute(
            "select count(*), count(distinct model) from marts.fct_attribution"
        ).fetchall()[0]
    print(
        f"{converting:,} conversions, {journey_rows - converting:,} open paths, {path_touches:,} path touches, "
        f"{credit_rows:,} credit rows ({models} models)"
    )
    print(
        f"journeys: {journeys:.1f} s; the seven attribution models: {attribution:.1f} s (goal < 60 s); "
        f"dbt run wall time {run.wall_seconds:.1f} s; peak memory {memory.gb():.2f} GB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
