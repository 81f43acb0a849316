"""The importer's fast row parser accepts, refuses and keys every row exactly as a validated
`HistoryRecord` would (`domain.history.iter_history_csv` + `record_key`)."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.history import iter_history_csv
from domain.history_rows import ImportRow, iter_import_rows, row_of
from domain.history_shards import shard_of

HEADER = "employee_id,date,amount,outcome\n"
ROWS = [
    "E1,2026-01-14,89.90 EUR,completed",  # the plain shape
    "E1,2026-01-14,89.9,Completed",  # the same record, spelled otherwise
    "E1,2026-01-14,089.900,approved",
    " E2 ,2026-02-28 , 12 USD ,denied",
    "E2,2026-02-30,12,completed",  # no such day
    "E2,2026-1-5,12,completed",  # not the plain shape: validated
    "E3,2026-03-01T10:00:00+02:00,5,rejected",  # a time and zone
    "E3,2026-03-01T10:00:00,5,rejected",  # a time without zone: refused
    "E3,2026-03-01,5 eur,purchased",  # lower-case currency
    "E3,2026-03-01,5  EUR,completed",  # two spaces
    "E3,2026-03-01,5 EURO,completed",
    "E3,2026-03-01,0,completed",  # not above zero
    "E3,2026-03-01,0.00,completed",
    "E3,2026-03-01,-4,completed",
    "E3,2026-03-01,1e3,completed",  # 1000: validated, accepted
    "E3,2026-03-01,NaN,completed",
    "E3,2026-03-01,10,maybe",
    ",2026-03-01,10,completed",  # no employee
    f"{'x' * 64},2026-03-01,10,completed",
    f"{'x' * 65},2026-03-01,10,completed",
    'Ünïcode "quoted",2026-03-01,10,cancelled',
    "back\\slash,2026-03-01,10,failed",
    "E4,2026-03-01,10",  # a field short
    "",
    "E5,2026-03-01,10,invalid",
]


def validated(text: str) -> list[ImportRow]:
    """What the rows are through `HistoryRecord`: the reference."""
    return [
        ImportRow(parsed.line, problem=parsed.problem)
        if parsed.record is None
        else row_of(parsed.line, parsed.record, shard_of(parsed.record.employee_id))
        for parsed in iter_history_csv(io.StringIO(text))
    ]


def test_every_kind_of_row_is_imported_or_refused_as_its_record_would_be() -> None:
    text = HEADER + "\n".join(ROWS) + "\n"
    fast = list(iter_import_rows(io.StringIO(text)))
    assert fast == validated(text)
    assert len({r.key for r in fast[:3]}) == 1  # one record, three spellings
    assert sum(1 for r in fast if r.problem) == 12


@given(
    st.lists(
        st.tuples(
            st.text(min_size=0, max_size=8),
            st.sampled_from(["2026-01-31", "2025-12-01", "2026-02-29", "2024-02-29", "1999-1-1"]),
            st.from_regex(r"-?[0-9]{1,4}(\.[0-9]{1,3})?( [A-Za-z]{3})?", fullmatch=True),
            st.sampled_from(["completed", "REJECTED", "denied", "approved", "other", "failed"]),
        ),
        max_size=30,
    )
)
@settings(max_examples=80, deadline=None)
def test_generated_rows_agree(rows: list[tuple[str, str, str, str]]) -> None:
    lines = [
        ",".join(f'"{c}"' if any(x in c for x in ',"\n\r') else c for c in row) for row in rows
    ]
    text = HEADER + "".join(f"{line}\n" for line in lines)
    assert list(iter_import_rows(io.StringIO(text))) == validated(text)
