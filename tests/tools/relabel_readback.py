"""Read `evalaudit relabel` exports back with the labeling tools' own libraries (run with a Python that has
argilla 2.x and label-studio-sdk installed; they conflict with evalaudit's pins, so they live in their own venv).

    python tests/tools/relabel_readback.py EXPORT_DIR   # holds queue-argilla.json, queue-label-studio.json

- Argilla: ``Dataset.records.from_json`` (the SDK's own reader of ``records.to_json`` files) loads the records into a
  dataset whose fields are the content columns; no Argilla server runs here, so the client's HTTP transport is
  answered in-process and the bulk upsert request the SDK builds is captured — what a server would receive.
- Label Studio: ``LabelInterface`` of a labeling config that shows ``$prompt`` and ``$response`` validates each
  task (``validate_task``) and fills the config's variables from it (``load_task``).

Prints one JSON document: per tool, how many records/tasks were read and what they carried.
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path


def argilla_readback(path: Path) -> dict:
    import argilla as rg
    import httpx

    sent: list[dict] = []

    def server(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/me":
            return httpx.Response(200, json={"id": str(uuid.uuid4()), "username": "evalaudit", "role": "owner",
                                             "first_name": "e", "last_name": None,
                                             "inserted_at": "2026-01-01T00:00:00", "updated_at": "2026-01-01T00:00:00"})
        if request.method == "PUT" and request.url.path.endswith("/records/bulk"):
            items = json.loads(request.content)["items"]
            sent.extend(items)
            return httpx.Response(200, json={"items": [{**i, "id": str(uuid.uuid4()), "dataset_id": str(uuid.uuid4()),
                                                        "inserted_at": "2026-01-01T00:00:00",
                                                        "updated_at": "2026-01-01T00:00:00"} for i in items]})
        return httpx.Response(404, json={"detail": f"not served here: {request.method} {request.url.path}"})

    client = rg.Argilla(api_url="http://argilla.invalid", api_key="offline",
                        mounts={"http://": httpx.MockTransport(server)})
    records = json.loads(path.read_text())
    field_names = sorted({k for r in records for k in r["fields"]})
    settings = rg.Settings(
        fields=[rg.TextField(name=n, required=False, client=client) for n in field_names],
        questions=[rg.LabelQuestion(name="label", labels=["pass", "fail"], client=client)],
        metadata=[rg.FloatMetadataProperty(name="poison_score", client=client),
                  rg.IntegerMetadataProperty(name="relabel_priority", client=client),
                  rg.TermsMetadataProperty(name="flags", client=client),
                  rg.TermsMetadataProperty(name="failure_mode", client=client)])
    dataset = rg.Dataset(name="relabel", settings=settings, client=client)
    error = None
    try:
        dataset.records.from_json(path)
    except Exception as e:  # reported: the calling test fails on it
        error = f"{type(e).__name__}: {e}"
    return {"argilla_version": rg.__version__, "records_in_file": len(records), "records_sent": len(sent),
            "error": error, "field_names": field_names,
            "external_ids": [r["external_id"] for r in sent],
            "fields": [r["fields"] for r in sent],
            "metadata_keys": sorted({k for r in sent for k in r["metadata"]})}


LS_CONFIG = """<View>
  <Text name="prompt" value="$prompt"/>
  <Text name="response" value="$response"/>
  <Choices name="label" toName="response"><Choice value="pass"/><Choice value="fail"/></Choices>
</View>"""


def label_studio_readback(path: Path) -> dict:
    from label_studio_sdk import __version__ as version
    from label_studio_sdk.label_interface import LabelInterface

    li = LabelInterface(LS_CONFIG)
    tasks = json.loads(path.read_text())
    valid = [li.validate_task(t) for t in tasks]
    shown = []
    for t in tasks:
        loaded = li.load_task(t["data"])  # load_task takes the task's data, validate_task the whole task
        shown.append({o.name: o.value for o in loaded.objects})
    return {"label_studio_sdk_version": version, "tasks": len(tasks), "valid": valid, "shown": shown}


def main(export_dir: str) -> None:
    d = Path(export_dir)
    print(json.dumps({"argilla": argilla_readback(d / "queue-argilla.json"),
                      "label_studio": label_studio_readback(d / "queue-label-studio.json")}, indent=1,
                     ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1])
