"""The contract's JSON shapes (docs/api.md, section 2), made from the queue's rows."""

from __future__ import annotations


def iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def project_json(row) -> dict:
    return {"id": row["id"], "name": row["name"], "pixel_size_um": row["pixel_size_um"], "image_count": row["image_count"],
            "created_at": iso(row["created_at"])}


def image_json(row, with_project: bool = False) -> dict:
    seg = None
    if row["job_id"] is not None:
        seg = {"status": row["status"], "model": row["model"], "model_used": row["model_used"],
               "polygon_count": row["polygon_count"],
               "spheroid_count": row["spheroid_count"] if row["polygon_count"] is not None else None, "job_id": row["job_id"]}
    body = {"id": row["id"], "filename": row["filename"], "width": row["width"], "height": row["height"], "pages": row["pages"],
            "segmentation": seg}
    if with_project:
        body["project_id"] = row["project_id"]
    return body


def stored_image_json(row) -> dict:
    return {"id": row["id"], "filename": row["filename"], "width": row["width"], "height": row["height"], "pages": row["pages"]}


def batch_status(row) -> str:
    if row["cancelled_at"] is not None:
        return "cancelled"
    if row["finished_at"] is not None:
        return "completed"
    return "queued" if row["queued"] == row["total"] else "running"


def batch_json(row) -> dict:
    keys = ("id", "project_id", "model", "total", "queued", "running", "succeeded", "failed", "cancelled")
    return {k: row[k] for k in keys} | {"status": batch_status(row), "created_at": iso(row["created_at"]), "finished_at": iso(row["finished_at"])}


def job_json(row) -> dict:
    failed = row["error_code"] is not None and row["status"] != "succeeded"
    error = {"code": row["error_code"], "message": row["error_message"]} if failed else None
    body = {k: row[k] for k in ("id", "batch_id", "image_id", "status", "model", "model_used", "attempts", "worker")}
    return body | {"error": error} | {k: iso(row[k]) for k in ("queued_at", "started_at", "finished_at")}


# A spreadsheet runs a cell that begins with one of these as a formula (CSV injection); such a cell is
# written with a leading single quote, which makes it text (OWASP's recipe).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def as_text_cell(value: object) -> object:
    """A CSV cell a spreadsheet reads as what it is: numbers as numbers, text never as a formula."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


