"""SageMaker Ground Truth worker responses: one label row per worker answer.

Ground Truth writes each worker's raw answers, before consolidation, to
``<output>/<job name>/annotations/worker-response/iteration-<N>/<datasetObjectId>/<time>.json`` (Amazon SageMaker
Developer Guide, "Output data" and "Annotation consolidation": "you can find the worker responses in the
[project-name]/annotations/worker-response folder"); the consolidated output manifest keeps only the aggregated
label, so it cannot audit labelers. Each file is ``{"answers": [{"workerId", "acceptanceTime", "submissionTime",
"timeSpentInSeconds", "answerContent", "workerMetadata": {"identityData": {...}}}, ...]}``.

``answerContent`` maps the task template's output names to answers: ``{"crowd-classifier": {"label": "x"}}`` for
the built-in text / image classification templates, ``{"<name>": {"label": "x"}}`` or ``{"<name>": "x"}`` for
custom templates, ``{"<name>": {"<option>": true, ...}}`` for radio groups; ``--question`` picks the name when there
are several. ``{"labels": [...]}`` (multi-select) is a multi-label answer: quarantined, never flattened.

Columns: ``item_id`` (the ``datasetObjectId`` directory: the object's 0-based line in the input manifest),
``labeler_id`` (``workerId``), ``label``, ``labeled_at`` (``submissionTime``), ``duration_s``
(``timeSpentInSeconds``), ``batch_id`` (the labeling job's name, from the path, with ``/iteration-N`` when N > 1),
``accepted_at``. Ingest the ``worker-response`` directory: every ``.json`` file under it is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evalaudit.errors import UnusableInput
from evalaudit.ingest.tool_rows import ReadOptions, Rows, one_label, pick_question


def looks_like_worker_response(obj: Any) -> bool:
    answers = obj.get("answers") if isinstance(obj, dict) else None
    return isinstance(answers, list) and any(isinstance(a, dict) and ("workerId" in a or "answerContent" in a)
                                             for a in answers)


def _place(path: Path) -> tuple[str, str | None]:
    """(datasetObjectId, batch id) from the file's path."""
    parts = path.resolve().parts
    object_id = parts[-2]
    batch = None
    if "worker-response" in parts:
        k = len(parts) - 1 - parts[::-1].index("worker-response")
        job = parts[k - 2] if k >= 2 and parts[k - 1] == "annotations" else None
        iteration = parts[k + 1] if k + 1 < len(parts) - 2 else None
        batch = job
        if job and iteration and iteration != "iteration-1":
            batch = f"{job}/{iteration}"
    return object_id, batch


def _answer_label(content: Any) -> tuple[str | None, str | None]:
    if isinstance(content, dict):
        if "label" in content:
            return one_label(content["label"])
        if "labels" in content:
            return one_label(content["labels"] if isinstance(content["labels"], list) else [content["labels"]])
        if content and all(isinstance(v, bool) for v in content.values()):
            chosen = [k for k, v in content.items() if v]
            if not chosen:
                return None, "answer selects no option"
            return one_label(chosen if len(chosen) > 1 else chosen[0])
    return one_label(content)


def read_sagemaker(path: Path, doc: Any, options: ReadOptions) -> Rows:
    if not looks_like_worker_response(doc):
        raise UnusableInput(f"{path}: not a SageMaker Ground Truth worker response (expected a JSON object with "
                            "an \"answers\" list of workerId/answerContent objects) (input)")
    rows = Rows.of("item_id", "labeler_id", "label", "labeled_at", "duration_s", "batch_id")
    answers = doc["answers"]
    keys = [k for a in answers if isinstance(a, dict) and isinstance(a.get("answerContent"), dict)
            for k in a["answerContent"]]
    question = pick_question(path, keys, options.question, "answer name") if keys else None
    object_id, batch = _place(path)
    for i, answer in enumerate(answers):
        if not isinstance(answer, dict):
            rows.reject(i, "answer is not a JSON object", answer, None)
            continue
        content = answer.get("answerContent")
        if not isinstance(content, dict) or question not in content:
            rows.reject(i, f"answer has no {question!r} in its answerContent", answer)
            continue
        label, problem = _answer_label(content[question])
        if problem:
            rows.reject(i, problem, answer)
            continue
        rows.add(i, {
            "item_id": doc.get("datasetObjectId", object_id),
            "labeler_id": answer.get("workerId"),
            "label": label,
            "labeled_at": answer.get("submissionTime"),
            "duration_s": answer.get("timeSpentInSeconds"),
            "batch_id": batch,
            "accepted_at": answer.get("acceptanceTime"),
        })
    return rows
