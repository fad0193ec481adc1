"""The public contract's names and limits, in one place (docs/api.md).

The queue API, its OpenAPI document, the upload checks, the inference server's
registry and the benchmarks all import these, so the document cannot drift
from the code that enforces it.  Change a value here and everything that states
or checks it follows.
"""

from __future__ import annotations

# ---------------------------------------------------------------- models
MODELS = ("unet", "resunet_cbam", "hrnet")
DEFAULT_MODEL = "hrnet"
MODEL_STATUSES = ("available", "loading", "unavailable", "corrupted")

# ---------------------------------------------------------------- segmentation
MIN_THRESHOLD, MAX_THRESHOLD = 0.05, 0.95
DEFAULT_THRESHOLD = 0.5
JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
FINAL_JOB_STATUSES = ("succeeded", "failed", "cancelled")
BATCH_STATUSES = ("queued", "running", "completed", "cancelled")
EVENT_TYPES = ("job.queued", "job.started", "job.succeeded", "job.failed", "job.cancelled", "batch.completed")

# ---------------------------------------------------------------- accounts and projects
USERNAME_PATTERN = r"[A-Za-z0-9_.-]{3,64}"
MIN_PASSWORD, MAX_PASSWORD = 8, 128
MAX_PROJECT_NAME = 200
MAX_PIXEL_SIZE_UM = 1000  # a project's optional pixel size, in micrometres (> 0)
# GET /api/projects/{id}/measurements.csv: its header row, in this order.
CSV_COLUMNS = ("image_id", "filename", "model_used", "index", "area_px", "perimeter_px", "equivalent_diameter_px",
               "circularity", "area_um2", "equivalent_diameter_um")

# ---------------------------------------------------------------- images
MAX_FILES = 100
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_SIDE = 4096
MAX_FILENAME = 255
IMAGE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "TIFF": "image/tiff"}
POLYGON_TYPES = ("external", "internal")

# ---------------------------------------------------------------- ids
MAX_ID = 2**63 - 1  # bigint

# ---------------------------------------------------------------- each error code's HTTP status, per service
# (docs/api.md; a feature names the error, the status follows from here; tests/unit/test_house_rules.py holds
# every ApiError the services raise to these tables)
COMMON_ERRORS = {"invalid_request": 400, "not_found": 404, "method_not_allowed": 405, "too_large": 413}
QUEUE_ERRORS = COMMON_ERRORS | {
    "invalid_image": 400, "unknown_model": 400, "unauthorized": 401, "invalid_credentials": 401, "not_ready": 409,
    "username_taken": 409, "unsupported_type": 415, "too_many_attempts": 429, "too_many_requests": 429, "busy": 503, "unavailable": 503,
}
INFERENCE_ERRORS = COMMON_ERRORS | {
    "invalid_image": 400, "fault_injection_disabled": 403, "unknown_model": 404, "overloaded": 503, "model_unavailable": 503,
    "timeout": 504,
}

# ---------------------------------------------------------------- errors that tell a client to come back
RETRY_AFTER_S = 1

# ---------------------------------------------------------------- promises the acceptance features measure
# How long the service may take to come back from a fault is stated from these and from its settings
# (LEASE_SECONDS, POLL_INTERVAL, POOL_ACQUIRE_TIMEOUT): the harness reads them here, never in the modules that use them.
CIRCUIT_COOLDOWN_S = 0.25  # the inference circuit's first cool-down, doubling with each failed probe ...
CIRCUIT_MAX_COOLDOWN_S = 2.0  # ... up to this
MAX_WRITE_BACKOFF_S = 1.0  # the longest a worker waits between tries to write a finished result while the database is away
SHUTDOWN_CLOSE_S = 5.0  # after its grace period (SHUTDOWN_GRACE_SECONDS) a stopping worker hands back and closes within this
STATEMENT_TIMEOUT_S = 10.0  # a database statement that has not answered by then is given up (the database is "unavailable")

# ---------------------------------------------------------------- sessions
SESSION_ENDED_CLOSE_CODE = 4001  # an event socket whose session ended (signed out, expired) closes with this code ...
SESSION_CHECK_S = 5.0  # ... at most this long after it ended

# ---------------------------------------------------------------- events
# An event socket asked to replay from before the oldest event still kept (EVENT_RETENTION_DAYS) closes with
# this code and reason "events_expired": read the state again, then reconnect from the present seq (GET /api/me).
EVENTS_EXPIRED_CLOSE_CODE = 4002
# An event socket whose client saw events the kept history does not hold - after a failover that lost the last
# commits, its ?after= seq is beyond the history's end, or that seq is another event than its ?event_id= - closes
# with this code and reason "events_rewound": read the state again, then reconnect from the present seq (GET /api/me).
EVENTS_REWOUND_CLOSE_CODE = 4003
# Each API process sweeps events past the retention every EVENT_SWEEP_FRACTION of it, at most every EVENT_SWEEP_MAX_S.
EVENT_SWEEP_FRACTION, EVENT_SWEEP_MAX_S = 0.1, 3600.0

# ---------------------------------------------------------------- the web page
# A dropped event socket is tried again after PAGE_RETRY_MIN_MS, doubling to at most PAGE_RETRY_MAX_MS
# (docs/api.md section 4): a page is live again within two of its longest waits after the network returns.
PAGE_RETRY_MIN_MS, PAGE_RETRY_MAX_MS = 250, 4000
