"""`omnichannel explain <identifier>`: the customer, all its identifiers, and the records that joined each one."""

from collections import deque

import duckdb

from orchestration import settings
from orchestration.identifiers import normalize_email, to_e164


class UnknownIdentifier(LookupError):
    """No customer holds the identifier, in any of its normalized forms."""


def _candidates(identifier: str) -> list[str]:
    value = identifier.strip()
    out = [value, value.lower()]
    if "@" in value and normalize_email(value):
        out.append(normalize_email(value))
    e164 = to_e164(value, settings.phone_region())
    if e164:
        out.append(e164)
    return sorted(set(out))


def _joining_record(con: duckdb.DuckDBPyConnection, a: tuple, b: tuple) -> tuple:
    """The earliest record holding both identifiers: (source, file, line, occurred_at)."""
    rows = con.execute(
        """select x.source, x.source_file, x.source_line, x.occurred_at
           from intermediate.int_identity_occurrences as x
           inner join intermediate.int_identity_occurrences as y on x.record_id = y.record_id
           where x.identifier_type = ? and x.identifier_value = ? and y.identifier_type = ? and y.identifier_value = ?
           order by x.occurred_at, x.source_file, x.source_line limit 1""",
        [*a, *b],
    ).fetchall()
    return rows[0] if rows else (None, None, None, None)


def explain(con: duckdb.DuckDBPyConnection, identifier: str) -> str:
    """A readable account of how the identifier's customer was assembled; `UnknownIdentifier` if nobody holds it."""
    candidates = _candidates(identifier)
    found = con.execute(
        """select customer_id, identifier_type, identifier_value from marts.customer_identifier
           where list_contains(?, identifier_value) order by customer_id""",
        [candidates],
    ).fetchall()
    if not found:
        tried = [c for c in candidates if c != identifier]
        raise UnknownIdentifier(
            f"no customer holds {identifier!r}" + (f" (nor {', '.join(map(repr, tried))})" if tried else "")
        )
    customer_id, start_type, start_value = found[0]
    members = con.execute(
        """select c.identifier_type, c.identifier_value, c.sources, c.is_shared, c.first_seen_at, c.last_seen_at,
                  c.ownership_period, i.node_id
           from marts.customer_identifier as c
           inner join intermediate.int_identity_identifiers as i using (identifier_type, identifier_value)
           where c.customer_id = ? order by c.identifier_type, c.identifier_value""",
        [customer_id],
    ).fetchall()
    by_node = {m[7]: (m[0], m[1]) for m in members}
    edges = con.execute(
        "select node_a, node_b from intermediate.int_identity_edges where list_contains(?, node_a) "
        "and list_contains(?, node_b)",
        [list(by_node), list(by_node)],
    ).fetchall()
    neighbours: dict[int, set[int]] = {n: set() for n in by_node}
    for a, b in edges:
        neighbours[a].add(b)
        neighbours[b].add(a)
    start = next(n for n, key in by_node.items() if key == (start_type, start_value))
    parent = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for other in sorted(neighbours[node]):
            if other not in parent:
                parent[other] = node
                queue.append(other)
    lines = [f"customer {customer_id}: {len(members)} identifiers"]
    for kind, value, sources, shared, first, last, period, _node in members:
        flags = " (shared)" if shared else ""
        flags += f" (ownership period {period})" if period and period > 1 else ""
        lines.append(f"  {kind} {value}{flags}  seen {first} .. {last} in {sources}")
    lines.append(f"how each identifier joined, starting from {start_type} {start_value}:")
    for node, (kind, value) in sorted(by_node.items(), key=lambda item: item[1]):
        if node == start:
            continue
        if node not in parent:
            lines.append(
                f"  {kind} {value}: shared or a recycled number's period, assigned to the customer "
                "seen with it most; it bridges no one"
            )
            continue
        chain, cursor = [], node
        while parent[cursor] is not None:
            chain.append((parent[cursor], cursor))
            cursor = parent[cursor]
        lines.append(f"  {kind} {value}:")
        for a, b in reversed(chain):
            source, file, line, at = _joining_record(con, by_node[a], by_node[b])
            lines.append(
                f"    {by_node[a][0]} {by_node[a][1]} + {by_node[b][0]} {by_node[b][1]}"
                f"  <- {source} record {file} line {line} ({at})"
            )
    return "\n".join(lines)
