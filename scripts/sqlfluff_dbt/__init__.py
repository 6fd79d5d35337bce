"""What sqlfluff's jinja templater needs to render our dbt models without dbt or a database (`.sqlfluff`).

sqlfluff's dbt builtins give `ref`, `source`, `config`, `this` and `return`, but `var()` returns a placeholder
string (our models iterate over dict and list vars) and there is no `adapter.dispatch` nor `dbt.<macro>`. Here
`var` reads the real values from dbt_project.yml, `adapter.dispatch` finds the `duckdb__`/`default__` macro as dbt
does, and the few dbt cross-database macros the models call render as dbt-duckdb renders them, so the linted SQL
is the SQL DuckDB runs. `execute` is false, so run_query-driven macros (connected_components) render no queries.
"""

from functools import cache
from pathlib import Path

import jinja2
import yaml

_DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project" / "dbt_project.yml"
_MISSING = object()

execute = False


@cache
def _project_vars() -> dict:
    values = yaml.safe_load(_DBT_PROJECT.read_text()).get("vars") or {}
    # A var may itself be jinja ("{{ env_var('OMNI_PHONE_REGION', 'US') }}"): render it with env_var's defaults.
    env = jinja2.Environment()
    env.globals["env_var"] = lambda name, default="": default
    return {k: env.from_string(v).render() if isinstance(v, str) and "{{" in v else v for k, v in values.items()}


def var(name: str, default=_MISSING):
    """dbt's var(): the project's value, else the default, else an error as dbt would raise."""
    value = _project_vars().get(name, default)
    if value is _MISSING:
        raise KeyError(f"var {name!r} is not in dbt_project.yml and has no default")
    return value


def env_var(name: str, default: str = "") -> str:
    return default


class _Relation:
    """A relation that exists, for adapter.get_relation (the branch a model takes once it has run once)."""

    database, schema, identifier = "warehouse", "main", "relation"

    def __str__(self) -> str:
        return f"{self.schema}.{self.identifier}"


class _Adapter:
    @jinja2.pass_context
    def dispatch(self, context, macro_name: str, macro_namespace: str | None = None):
        for prefix in ("duckdb__", "default__"):
            macro = context.get(prefix + macro_name)
            if macro is not None:
                return macro
        return getattr(dbt, macro_name)

    def get_relation(self, database=None, schema=None, identifier=None) -> _Relation:
        return _Relation()


class _DbtMacros:
    """dbt's cross-database macros the models call, rendered as dbt-duckdb renders them."""

    def type_string(self) -> str:
        return "varchar"

    def current_timestamp(self) -> str:
        return "now()"

    def hash(self, field: str) -> str:
        return f"md5(cast({field} as varchar))"

    def safe_cast(self, field: str, type_: str) -> str:
        return f"cast({field} as {type_})"

    def dateadd(self, datepart: str, interval, from_date_or_timestamp: str) -> str:
        return f"({from_date_or_timestamp} + cast({interval} as bigint) * interval 1 {datepart.lower()})"

    def datediff(self, first_date: str, second_date: str, datepart: str) -> str:
        return f"(date_diff('{datepart}', {first_date}::timestamp, {second_date}::timestamp))"

    def date_trunc(self, datepart: str, date: str) -> str:
        return f"date_trunc('{datepart}', {date})"

    def listagg(self, measure: str, delimiter_text: str = "','", order_by_clause=None, limit_num=None) -> str:
        if limit_num:
            order = f" {order_by_clause}" if order_by_clause else ""
            return f"list_aggr((array_agg({measure}{order}))[1:{limit_num}], 'string_agg', {delimiter_text})"
        order = f" {order_by_clause}" if order_by_clause else ""
        return f"string_agg({measure}, {delimiter_text}{order})"


adapter = _Adapter()
dbt = _DbtMacros()


class _Target:
    """dbt's `target`: the embedded default's."""

    type = "duckdb"
    name = "duckdb"


target = _Target()
