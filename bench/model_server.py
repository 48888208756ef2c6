"""A real local HTTP model server around the same runtime, for bench/rpc_bench.py.

    python bench/model_server.py BUNDLE PORT

Starlette on uvicorn (uvloop, httptools), one process, bound to 127.0.0.1. Two endpoints, as model
servers commonly offer them:
  POST /score        one row as JSON ``{"feature1": 1.0, ...}`` -> ``{"prediction": ...}``
  POST /score_batch  an Arrow IPC stream of input columns -> an Arrow IPC stream with ``prediction``
Both score with ``Model.transform_columns``, exactly as the embedded UDF's runtime does.
"""

from __future__ import annotations

import os
import sys

import pyarrow as pa
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from flink_ml_udf.mleap import load_bundle  # noqa: E402

ARROW_STREAM = "application/vnd.apache.arrow.stream"


def create_app(bundle: str) -> Starlette:
    model = load_bundle(bundle)
    prediction = model.prediction_column.name

    async def score(request: Request) -> JSONResponse:
        row = await request.json()
        frame = model.transform_columns({name: [value] for name, value in row.items()})
        return JSONResponse({"prediction": float(frame.get(prediction, "server")[0])})

    async def score_batch(request: Request) -> Response:
        table = pa.ipc.open_stream(await request.body()).read_all()
        columns = {name: table.column(name).to_numpy() for name in table.column_names}
        values = model.transform_columns(columns).get(prediction, "server")
        sink = pa.BufferOutputStream()
        result = pa.table({"prediction": values})
        with pa.ipc.new_stream(sink, result.schema) as writer:
            writer.write_table(result)
        return Response(sink.getvalue().to_pybytes(), media_type=ARROW_STREAM)

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    return Starlette(
        routes=[
            Route("/score", score, methods=["POST"]),
            Route("/score_batch", score_batch, methods=["POST"]),
            Route("/health", health),
        ]
    )


if __name__ == "__main__":
    uvicorn.run(create_app(sys.argv[1]), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", workers=1)
