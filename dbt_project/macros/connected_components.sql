{#- Connected components of an undirected graph, to convergence in one run, in plain SQL statements.

    Rounds of contraction: hook every node to its smallest neighbour, pointer-jump every node to its root,
    relabel the edges by root and drop those inside a group, repeat until no edge is left. Rounds grow with
    the log of the longest chain, not its length (label propagation needs one round per hop).
    A loop of statements, not a recursive CTE: Spark SQL cannot take min() over a recursion.

    edges_sql: a query with columns node_a, node_b (integers). Returns the name of a work table
    (node_id, component_id) for every node on an edge, where component_id is the component's smallest node.
    Nodes on no edge are their own component; callers coalesce. -#}
{% macro connected_components(edges_sql, work_prefix) %}
    {%- set max_rounds = var('identity_max_rounds') | int -%}
    {%- set edges, labels, parents, jumped = work_prefix ~ '__edges', work_prefix ~ '__labels',
                                             work_prefix ~ '__parents', work_prefix ~ '__jumped' -%}
    {%- if execute -%}
        {%- do run_query('drop table if exists ' ~ edges) -%}
        {%- do run_query('create table ' ~ edges ~ ' as select distinct least(node_a, node_b) as node_a,'
                         ~ ' greatest(node_a, node_b) as node_b from (' ~ edges_sql ~ ') as e'
                         ~ ' where node_a <> node_b and node_a is not null and node_b is not null') -%}
        {%- do run_query('drop table if exists ' ~ labels) -%}
        {%- do run_query('create table ' ~ labels ~ ' as select node_id, node_id as component_id from'
                         ~ ' (select node_a as node_id from ' ~ edges ~ ' union select node_b from ' ~ edges ~ ') as n') -%}
        {%- set state = {'converged': false, 'rounds': 0} -%}
        {%- for round in range(max_rounds) if not state.converged -%}
            {%- set remaining = run_query('select count(*) from ' ~ edges).columns[0].values()[0] -%}
            {%- if remaining == 0 -%}
                {%- do state.update({'converged': true}) -%}
            {%- else -%}
                {%- do state.update({'rounds': round + 1}) -%}
                {#- Edges run from smaller to larger node, so each larger node hooks to its smallest neighbour. -#}
                {%- do run_query('drop table if exists ' ~ parents) -%}
                {%- do run_query('create table ' ~ parents ~ ' as select node_b as node_id, min(node_a) as parent'
                                 ~ ' from ' ~ edges ~ ' group by node_b') -%}
                {%- set jumps = {'done': false} -%}
                {%- for jump in range(64) if not jumps.done -%}
                    {%- set pending = run_query('select count(*) from ' ~ parents ~ ' as c inner join ' ~ parents
                                                ~ ' as g on c.parent = g.node_id').columns[0].values()[0] -%}
                    {%- if pending == 0 -%}
                        {%- do jumps.update({'done': true}) -%}
                    {%- else -%}
                        {%- do _replace_work_table(parents, jumped, 'select c.node_id, coalesce(g.parent, c.parent) as parent'
                                         ~ ' from ' ~ parents ~ ' as c left join ' ~ parents ~ ' as g on c.parent = g.node_id') -%}
                    {%- endif -%}
                {%- endfor -%}
                {%- do _replace_work_table(edges, jumped, 'select distinct'
                                 ~ ' least(coalesce(pa.parent, e.node_a), coalesce(pb.parent, e.node_b)) as node_a,'
                                 ~ ' greatest(coalesce(pa.parent, e.node_a), coalesce(pb.parent, e.node_b)) as node_b'
                                 ~ ' from ' ~ edges ~ ' as e left join ' ~ parents ~ ' as pa on e.node_a = pa.node_id'
                                 ~ ' left join ' ~ parents ~ ' as pb on e.node_b = pb.node_id'
                                 ~ ' where coalesce(pa.parent, e.node_a) <> coalesce(pb.parent, e.node_b)') -%}
                {%- do _replace_work_table(labels, jumped, 'select l.node_id, coalesce(p.parent, l.component_id) as component_id'
                                 ~ ' from ' ~ labels ~ ' as l left join ' ~ parents ~ ' as p on l.component_id = p.node_id') -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if not state.converged -%}
            {{ exceptions.raise_compiler_error('connected components did not converge in ' ~ max_rounds
                                                ~ ' rounds (identity_max_rounds)') }}
        {%- endif -%}
        {{ log('connected components of ' ~ work_prefix ~ ': converged in ' ~ state.rounds ~ ' rounds', info=true) }}
        {%- do run_query('drop table if exists ' ~ edges) -%}
        {%- do run_query('drop table if exists ' ~ parents) -%}
    {%- endif -%}
    {{ return(labels) }}
{% endmacro %}

{#- Replaces a work table by a query that reads it: build the result under a scratch name, then swap names. -#}
{% macro _replace_work_table(target, scratch, select_sql) %}
    {%- do run_query('drop table if exists ' ~ scratch) -%}
    {%- do run_query('create table ' ~ scratch ~ ' as ' ~ select_sql) -%}
    {%- do run_query('drop table ' ~ target) -%}
    {%- do run_query('alter table ' ~ scratch ~ ' rename to ' ~ target.split('.')[-1]) -%}
{% endmacro %}

{#- Drops the work tables a connected_components call left behind (its labels), for a post-hook. -#}
{% macro drop_components_work(work_prefix) %}
    drop table if exists {{ work_prefix }}__labels
{% endmacro %}
