"""Layer 5 — prospect lists (`zhike batch`).

Sheet readers and writers (`tabular`, which re-exports `cells`, `readers` and `writers`;
`textlines` and `xlsx_guard` read text and XLSX within bounds), column → fact mapping
(`mapping`, with the built-in CRM header `aliases`) and the row classifier with workers
(`classify`). Library API: `classify_records`, `classify_dataframe`, and `classify_dask` for a dask
DataFrame (`dask_run`, which also runs `zhike batch --dask`); Parquet in and out in `parquet`.

May import: `engine.report` and lower; never `engine.interview` (a sibling).
"""

from .classify import (
    RESULT_TAIL,
    RowError,
    Settings,
    Stats,
    classify_dataframe,
    classify_records,
    classify_values,
    result_columns,
    select_columns,
)

__all__ = [
    "RESULT_TAIL",
    "RowError",
    "Settings",
    "Stats",
    "classify_dataframe",
    "classify_records",
    "classify_values",
    "result_columns",
    "select_columns",
]


def __getattr__(name: str):
    if name == "classify_dask":  # engine.batch.classify_dask(ddf, ...) on a Dask cluster (dask_run)
        from .dask_run import classify_dask

        return classify_dask
    raise AttributeError(name)
