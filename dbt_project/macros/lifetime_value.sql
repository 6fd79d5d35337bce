{#- The purchase history of each customer, up to and including period_end, as the lifetime-value models read it
    (Fader, Hardie and Lee's x, t_x and T, in days):
      purchase_days      days with a purchase; repeat_purchases (x) is one fewer
      days_first_to_last t_x: from the first purchase day to the last
      tenure_days        T: from the first purchase day to period_end
      repeat_average_revenue  the mean revenue of the repeat purchase days (the first is left out, as the
                         Gamma-Gamma model asks); NULL without a repeat purchase
    purchase_days: a relation of customer_id, purchase_date, orders, revenue (one row per customer and day).
    period: a relation of one row whose period_end (a date) ends the history. -#}
{% macro customer_purchase_summary(purchase_days, period) %}
    select
        d.customer_id,
        min(d.purchase_date) as first_purchase_date,
        max(d.purchase_date) as last_purchase_date,
        sum(d.orders) as orders,
        count(*) as purchase_days,
        count(*) - 1 as repeat_purchases,
        sum(d.revenue) as historical_revenue,
        {{ dbt.datediff('min(d.purchase_date)', 'max(d.purchase_date)', 'day') }} as days_first_to_last,
        {{ dbt.datediff('min(d.purchase_date)', 'p.period_end', 'day') }} as tenure_days,
        {{ dbt.datediff('max(d.purchase_date)', 'p.period_end', 'day') }} as recency_days,
        avg(case when d.purchase_day_number > 1 then d.revenue end) as repeat_average_revenue,
        p.period_end
    from (
        select
            customer_id,
            purchase_date,
            orders,
            revenue,
            row_number() over (partition by customer_id order by purchase_date) as purchase_day_number
        from {{ purchase_days }}
    ) as d
    cross join {{ period }} as p
    where d.purchase_date <= p.period_end
    group by d.customer_id, p.period_end
{% endmacro %}
