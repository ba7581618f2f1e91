"""AI functions (CVAT's ``lambda_manager/views.py``): the functions test authors registered
(``mockcvat.functions``), online calls on one frame, and whole-task/job annotation requests,
which are background requests (``autoannotate``) of the one engine.

CVAT's answers are kept: its ``return_response`` wrapper turns every error into a bare JSON
string body (503 when Nuclio is unreachable, Nuclio's 404 for an unknown function, 400 for a
``ValidationError``, 409 for a second running request on a task). A function that fails is
relayed as Nuclio's 500, as CVAT relays it.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from mockcvat import background, iam
from mockcvat.errors import APIError, ValidationFailed
from mockcvat.functions import NO_NUCLIO as NO_NUCLIO_MESSAGE
from mockcvat.functions import Function, FunctionFailed, failed, not_found
from mockcvat.http import CvatJSONResponse
from mockcvat.models import BackgroundRequest, Data, Job, Label, LambdaCall, Segment, Task
from mockcvat.schemas.lambda_ import FunctionCall, FunctionCallRequest
from mockcvat.services import annotations, resources
from mockcvat.services.jobs import frames_of

if TYPE_CHECKING:
    from sqlmodel import Session

    from mockcvat.api import Context
    from mockcvat.server import MockCVAT

RESULT_TTL, FAILED_TTL = 30 * 60, 3 * 3600  # LambdaQueue.RESULT_TTL / FAILED_TTL
CONFLICT = "Only one running request is allowed for the same task #{}"


class LambdaError(APIError):
    """CVAT's ``return_response``: the message as a bare JSON string."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status
        self.message = message

    def body(self) -> Any:
        return self.message


def _function(mock: MockCVAT, function_id: str) -> Function:
    if not mock.functions:
        raise LambdaError(503, NO_NUCLIO_MESSAGE)
    function = mock.functions.get(function_id)
    if function is None:
        raise LambdaError(404, not_found(function_id))
    return function


# --- functions ----------------------------------------------------------------------------------
def list_functions(ctx: Context) -> Any:
    iam.lambda_functions(ctx).check_view()
    if not ctx.mock.functions:
        raise LambdaError(503, NO_NUCLIO_MESSAGE)
    return CvatJSONResponse([f.to_dict() for f in ctx.mock.functions.all()])


def retrieve_function(ctx: Context, function_id: str) -> Any:
    iam.lambda_functions(ctx).check_view()
    return CvatJSONResponse(_function(ctx.mock, function_id).to_dict())


def _wrong_arguments(function_id: str, detail: str) -> LambdaError:
    return LambdaError(400, f"`{function_id}` lambda function was run with wrong arguments "
                            f"({detail})")


def prepare_online(ctx: Context, function_id: str, raw: Any) -> Call:
    """``POST /api/lambda/functions/{id}``: one frame, answered at once; the checks (then
    ``run_online``, off the event loop)."""
    iam.lambda_functions(ctx).check_call()
    data = dict(raw) if isinstance(raw, Mapping) else {}
    with ctx.mock.db.session() as db:
        job = None
        if data.get("job") is not None:
            job = _get(db, Job, data["job"])
            if job is None:
                raise _wrong_arguments(function_id, "Job matching query does not exist.")
            task_id = job.task_id
        elif "task" in data:
            task_id = data["task"]
        else:
            raise _wrong_arguments(function_id, "'task'")
        task = _get(db, Task, task_id)
        if task is None:
            raise _wrong_arguments(function_id, "Task matching query does not exist.")
        _check_annotate(ctx, db, task, job)
        function = _function(ctx.mock, function_id)
        try:
            return prepare(ctx.mock, db, function, task, data, job=job)
        except ValidationFailed as exc:
            detail = exc.detail[0] if isinstance(exc.detail, list) else exc.detail
            raise LambdaError(400, str(detail)) from None


def run_online(call: Call) -> Any:
    try:
        return CvatJSONResponse(run(call))
    except FunctionFailed as exc:
        raise LambdaError(500, failed(call.function.id, str(exc))) from None


def _get(db: Session, model: Any, value: Any) -> Any:
    """``Model.objects.get(pk=value)``: Django's message for what is not a number; None for
    what no row can have."""
    try:
        pk = int(value)
    except (TypeError, ValueError):
        raise LambdaError(400, f"Field 'id' expected a number but got {value!r}.") from None
    return db.get(model, pk) if 0 <= pk < 2**63 else None


def _check_annotate(ctx: Context, db: Session, task: Task, job: Job | None) -> None:
    policy = iam.engine(ctx)
    if job is not None:
        standing, _ = resources.standing_for_job(ctx, db, job)
        policy.check(policy.allow_job("update:annotations", standing))
    else:
        policy.check(policy.allow_task("update:annotations",
                                       resources.standing_for_task(ctx, db, task)))


# --- invoking (LambdaFunction.invoke) ------------------------------------------------------------
def _task_labels(book: annotations.LabelBook) -> list[dict[str, Any]]:
    """The task's labels as ``{id, name, type, attributes: {name: spec}, sublabels: [...]}``."""
    rows = sorted(book.labels.values(), key=lambda r: r.id or 0)

    def convert(label: Label) -> dict[str, Any]:
        return {"id": label.id, "name": label.name, "type": label.type,
                "attributes": {s.name: {"id": s.id, "input_type": s.input_type,
                                        "values": list(s.values or [])}
                               for s in book.specs.get(label.id or 0, [])},
                "sublabels": [convert(r) for r in rows if r.parent_id == label.id]}

    return [convert(r) for r in rows if r.parent_id is None]


def _compatible(model: Mapping[str, Any], db_label: Mapping[str, Any]) -> bool:
    model_type, db_type = model["type"], db_label["type"]
    return (model_type == db_type or (db_type == "any" and model_type != "skeleton")
            or (model_type == "unknown" and db_type != "skeleton")
            or {model_type, db_type} <= {"mask", "polygon"})


def default_mapping(model_labels: list[dict], task_labels: list[dict]) -> dict[str, Any]:
    mapping: dict[str, Any] = {}
    for model in model_labels:
        for db_label in task_labels:
            if db_label["name"] == model["name"] and _compatible(model, db_label):
                mapping[model["name"]] = {
                    "name": db_label["name"],
                    "attributes": {a["name"]: a["name"] for a in model.get("attributes", [])
                                   if a["name"] in db_label["attributes"]}}
                if model["type"] == "skeleton" and db_label["type"] == "skeleton":
                    mapping[model["name"]]["sublabels"] = default_mapping(
                        model.get("sublabels", []), db_label["sublabels"])
    return mapping


def check_mapping(mapping: Mapping[str, Any], model_labels: list[dict],
                  task_labels: list[dict]) -> None:
    """``validate_labels_mapping``: CVAT's messages."""
    for model_name, item in mapping.items():
        model = next((m for m in model_labels if m["name"] == model_name), None)
        if model is None:
            raise ValidationFailed([f'Invalid mapping. Unknown model label "{model_name}"'])
        db_label = next((d for d in task_labels if d["name"] == item["name"]), None)
        if db_label is None:
            raise ValidationFailed([f'Invalid mapping. Unknown db label "{item["name"]}"'])
        if not _compatible(model, db_label):
            raise ValidationFailed([f'Invalid mapping. Model label "{model_name}" and database '
                                    f'label "{item["name"]}" are not compatible'])
        model_attrs = {a["name"] for a in model.get("attributes", [])}
        for model_attr, db_attr in (item.get("attributes") or {}).items():
            if model_attr not in model_attrs:
                raise ValidationFailed([
                    f'Invalid mapping. Unknown model attribute "{model_attr}"'])
            if db_attr not in db_label["attributes"]:
                raise ValidationFailed([f'Invalid mapping. Unknown db attribute "{db_attr}"'])
        if model["type"] == "skeleton" and db_label["type"] == "skeleton":
            if "sublabels" not in item:
                raise ValidationFailed([f"Mapping for elements was not specified in skeleton "
                                        f'"{model_name}" '])
            check_mapping(item["sublabels"], model.get("sublabels", []), db_label["sublabels"])


def _resolved(mapping: Mapping[str, Any], task_labels: list[dict]) -> dict[str, Any]:
    out = {}
    for model_name, item in mapping.items():
        db_label = next(d for d in task_labels if d["name"] == item["name"])
        out[model_name] = {"db_label": db_label, "attributes": dict(item.get("attributes") or {}),
                           "sublabels": _resolved(item.get("sublabels") or {},
                                                  db_label["sublabels"])}
    return out


FRAME_PARAMETERS = (("frame", "frame"), ("frame0", "start frame"), ("frame1", "end frame"))
MANDATORY = {"detector": ("frame",), "interactor": ("frame", "pos_points", "neg_points"),
             "reid": ("frame0", "frame1", "boxes0", "boxes1"), "tracker": ("frame",)}


@dataclass
class Call:
    """A validated call, ready to run without the database (a function may be slow)."""

    function: Function
    image: Any
    request: dict[str, Any]
    resolved: dict[str, Any]
    offset: tuple[int, int] = (0, 0)  # a region of interest's top left corner (2.70+)


def prepare(mock: MockCVAT, db: Session, function: Function, task: Task,
            data: Mapping[str, Any], *, job: Job | None = None,
            roi: list[int] | None = None) -> Call:
    """Validate the call as CVAT's ``LambdaFunction.invoke`` does and read its frame(s)."""
    if job is not None and job.task_id != task.id:
        raise ValidationFailed(["Job task id does not match task id"])
    data = {k: v for k, v in data.items() if v is not None}
    task_labels = _task_labels(annotations.LabelBook(db, task))
    mapping = data.get("mapping") or {}
    if mapping:
        check_mapping(mapping, function.labels, task_labels)
    else:
        mapping = default_mapping(function.labels, task_labels)
    resolved = _resolved(mapping, task_labels)
    if job is not None:
        segment_frames = set(frames_of(db.get(Segment, job.segment_id)))
        for key, desc in FRAME_PARAMETERS:
            if key in data and data[key] not in segment_frames:
                raise ValidationFailed([f"The {desc} is outside the job range"])
    for name in MANDATORY[function.kind]:
        if name not in data:
            raise ValidationFailed([f"`{function.id}` lambda function was called without "
                                    f"mandatory argument: {name}"])
    request = {k: v for k, v in data.items() if k != "mapping"}
    frame_key = "frame0" if function.kind == "reid" else "frame"
    image = _image(mock, db, task, data[frame_key])
    if function.kind == "reid":
        request["image1"] = _image(mock, db, task, data["frame1"])
    offset = (0, 0)
    if roi:  # a request's region of interest: the detector sees it only (PR 10794)
        image, offset = _crop(image, roi)
    return Call(function, image, request, resolved, offset)


def _crop(image: Any, roi: list[int]) -> tuple[Any, tuple[int, int]]:
    """The frame cut to ``[xtl, ytl, xbr, ybr]`` (clamped to the frame) and its corner."""
    width, height = image.size
    xtl, ytl = min(max(roi[0], 0), width), min(max(roi[1], 0), height)
    xbr, ybr = min(max(roi[2], xtl), width), min(max(roi[3], ytl), height)
    if xbr - xtl < 1 or ybr - ytl < 1:
        raise ValidationFailed(["The region of interest is empty"])
    return image.crop((xtl, ytl, xbr, ybr)), (xtl, ytl)


def _moved(item: dict[str, Any], dx: int, dy: int) -> dict[str, Any]:
    """A detection made on a region of interest, in the frame's coordinates."""
    item = dict(item)
    if item.get("points"):
        item["points"] = [v + (dx if i % 2 == 0 else dy) for i, v in enumerate(item["points"])]
    if item.get("mask"):  # RLE bits then the box [left, top, right, bottom]
        *bits, left, top, right, bottom = item["mask"]
        item["mask"] = [*bits, left + dx, top + dy, right + dx, bottom + dy]
    if item.get("elements"):
        item["elements"] = [_moved(e, dx, dy) for e in item["elements"]]
    return item


def run(call: Call) -> Any:
    """Run the function (outside any database session) and map a detector's labels and
    attributes to the task's."""
    result = call.function.call(call.image, call.request)
    if call.function.kind != "detector":
        return result
    out = []
    for item in result or []:
        if call.offset != (0, 0):
            item = _moved(item, *call.offset)
        target = call.resolved.get(item.get("label"))
        if target is None:
            continue
        item = dict(item)
        item["label"] = target["db_label"]["name"]
        item["attributes"] = _attributes(item.get("attributes") or [], target)
        if "elements" in item:
            elements = []
            for element in item["elements"]:
                sub = target["sublabels"].get(element.get("label"))
                if sub is not None:
                    elements.append({**element, "label": sub["db_label"]["name"],
                                     "attributes": _attributes(element.get("attributes") or [],
                                                               sub)})
            item["elements"] = elements
        out.append(item)
    return out


def _attributes(values: list[dict[str, Any]], target: Mapping[str, Any]) -> list[dict]:
    """``transform_attributes``: mapped attributes whose value fits the task's spec."""
    out = []
    specs = target["db_label"]["attributes"]
    for attr in values:
        name = target["attributes"].get(attr.get("name"))
        spec = specs.get(name) if name else None
        value = str(attr.get("value", ""))
        if spec is None:
            continue
        kind = spec["input_type"]
        ok = (value.isnumeric() if kind == "number" else
              value in ("true", "false") if kind == "checkbox" else
              True if kind == "text" else value in spec["values"])
        if ok:
            out.append({"name": name, "value": value})
    return out


def _image(mock: MockCVAT, db: Session, task: Task, frame: Any) -> Any:
    from PIL import Image

    from mockcvat.services import task_data

    data = db.get(Data, task.data_id) if task.data_id else None
    if data is None or not isinstance(frame, int) or not 0 <= frame < data.size:
        raise ValidationFailed([f"Invalid frame: {frame!r}"])
    body, _ = task_data.frame_store(mock, data.id or 0).frame(frame, "original")
    image = Image.open(io.BytesIO(body))
    image.load()
    return image


# --- requests -----------------------------------------------------------------------------------
def create_request(ctx: Context, raw: Any) -> Any:
    body = FunctionCallRequest.validate(raw)
    function = _function(ctx.mock, body["function"])
    with ctx.mock.db.session() as db:
        job = None
        if body.get("job") is not None:
            job = db.get(Job, body["job"])
            if job is None:
                raise LambdaError(400, "Job matching query does not exist.")
        task = db.get(Task, body["task"])
        if task is None:
            raise LambdaError(400, "Task matching query does not exist.")
        _check_annotate(ctx, db, task, job)
        organization_id = task.organization_id
    conv = body.get("conv_mask_to_poly", body.get("convMaskToPoly", False))
    params = {"mapping": body.get("mapping"), "threshold": body.get("threshold"),
              "cleanup": body.get("cleanup", False), "conv_mask_to_poly": conv,
              "roi": body.get("roi")}
    mock = ctx.mock

    def run(reporter: background.Reporter) -> None:
        annotate(mock, reporter, function, body["task"], body.get("job"), params)

    work = background.Work(
        action="autoannotate", target="task", target_id=body["task"], owner_id=ctx.user.id or 0,
        organization_id=organization_id, run=run, function_id=function.id,
        task_id=body["task"], job_id=body.get("job"), result_ttl=RESULT_TTL,
        failure_ttl=FAILED_TTL, conflict_message=CONFLICT.format(body["task"]))
    rq_id = ctx.mock.background.rq_id_for(work)
    with ctx.mock.db.session() as db:
        row = db.get(LambdaCall, rq_id)
        existing = ctx.mock.background.get(rq_id)
        if existing is not None and existing.status in background.ACTIVE:
            raise LambdaError(409, CONFLICT.format(body["task"]))
        if row is not None:
            db.delete(row)
            db.flush()
        db.add(LambdaCall(rq_id=rq_id, function_id=function.id, task_id=body["task"],
                          job_id=body.get("job"), threshold=body.get("threshold")))
    ctx.mock.background.submit(work)
    return CvatJSONResponse(_payload(ctx, rq_id))


def annotate(mock: MockCVAT, reporter: background.Reporter, function: Function, task_id: int,
             job_id: int | None, params: Mapping[str, Any]) -> None:
    """``LambdaJob.__call__`` for detectors: every frame of the job (or task), results added
    to the annotations (after a clean-up if asked), as ``source: auto``."""
    if function.kind != "detector":
        raise background.RequestFailed(
            f"mockcvat runs {function.kind} functions online only "
            "(POST /api/lambda/functions/{id}); requests take detectors\n")
    with mock.db.session() as db:
        task = db.get(Task, task_id)
        job = db.get(Job, job_id) if job_id else None
        data = db.get(Data, task.data_id) if task and task.data_id else None
        if task is None or data is None:
            raise background.RequestFailed("Task matching query does not exist.\n")
        segment = db.get(Segment, job.segment_id) if job else None
        frames = frames_of(segment) if segment is not None else list(range(data.size))
        deleted = set(data.deleted_frames or [])
        size = data.size
        labels = {label["name"]: label for label in _task_labels(annotations.LabelBook(db, task))}
    found: dict[str, list[dict[str, Any]]] = {"tags": [], "shapes": []}
    for frame in frames:
        if frame in deleted:
            continue
        try:
            with mock.db.session() as db:
                call = prepare(mock, db, function, task, {
                    "frame": frame, "mapping": params.get("mapping"),
                    "threshold": params.get("threshold")}, job=job, roi=params.get("roi"))
            detections = run(call)
        except ValidationFailed as exc:
            detail = exc.detail[0] if isinstance(exc.detail, list) else exc.detail
            raise background.RequestFailed(
                f"django.core.exceptions.ValidationError: ['{detail}']\n") from None
        except FunctionFailed as exc:
            raise background.RequestFailed(
                f"requests.exceptions.HTTPError: {failed(function.id, str(exc))}\n") from None
        reporter.progress((frame + 1) / (size or 1))
        for detection in detections:
            parsed = _parse(detection, labels, frame, bool(params.get("conv_mask_to_poly")))
            if parsed is not None:
                found["tags" if detection.get("type", "").lower() == "tag" else "shapes"] \
                    .append(parsed)
    with mock.db.session() as db:
        task = db.get(Task, task_id)
        book = annotations.LabelBook(db, task)
        if params.get("cleanup"):
            targets = [job] if job is not None else [
                j for j, _ in annotations.annotation_jobs(db, task_id)]
            for one in targets:
                annotations.remove(db, one.id or 0)
        if annotations.has_any(found):
            from mockcvat.schemas.annotations import LabeledData

            checked = LabeledData.validate({"version": 0, **found, "tracks": []})
            if job is not None:
                annotations.write_job(db, job.id or 0, checked, "create", book)
                annotations.touch(db, db.get(Job, job.id))
            else:
                annotations.write_task(db, task, checked, "create", book)


def _parse(item: Mapping[str, Any], labels: Mapping[str, Any], frame: int,
           conv_mask_to_poly: bool) -> dict[str, Any] | None:
    """``parse_anno``: a detection as an API tag or shape (skeleton elements completed with
    outside points)."""
    from mockcvat.formats.common import runs

    label = labels.get(item.get("label"))
    if label is None:
        return None
    attrs = [{"spec_id": label["attributes"][a["name"]]["id"], "value": str(a["value"])}
             for a in item.get("attributes") or [] if a.get("name") in label["attributes"]]
    kind = str(item.get("type", "")).lower()
    if kind == "tag":
        return {"frame": frame, "label_id": label["id"], "source": "auto", "attributes": attrs,
                "group": None}
    shape: dict[str, Any] = {
        "frame": frame, "label_id": label["id"], "source": "auto", "attributes": attrs,
        "group": item.get("group_id"), "type": kind, "occluded": False,
        "outside": bool(item.get("outside", False)), "z_order": 0,
        "points": list(item.get("mask") or []) if kind == "mask" else list(
            item.get("points") or [])}
    if kind in ("rectangle", "ellipse"):
        shape["rotation"] = item.get("rotation", 0)
    if kind == "mask" and item.get("points") and conv_mask_to_poly:
        shape["type"], shape["points"] = "polygon", list(item["points"])
    elif kind == "mask":
        bits, box = shape["points"][:-4], shape["points"][-4:]
        shape["points"] = [float(c) for c in runs(bytes(int(bool(b)) for b in bits))] + box
    if kind == "skeleton":
        sublabels = {s["name"]: s for s in label["sublabels"]}
        parsed = [p for p in (_parse(e, sublabels, frame, False)
                              for e in item.get("elements") or []) if p is not None]
        center = [sum(p["points"][0] for p in parsed) / (len(parsed) or 1),
                  sum(p["points"][1] for p in parsed) / (len(parsed) or 1)]
        shape["elements"] = [
            next((p for p in parsed if p["label_id"] == sub["id"]), None) or {
                "frame": frame, "label_id": sub["id"], "source": "auto", "attributes": [],
                "group": None, "type": sub["type"] if sub["type"] != "any" else "points",
                "occluded": False, "points": center, "outside": True, "z_order": 0}
            for sub in label["sublabels"]]
        if all(e["outside"] for e in shape["elements"]):
            return None
    return shape


def _visible_requests(ctx: Context) -> Any:
    return (BackgroundRequest.action == "autoannotate") & BackgroundRequest.task_id.in_(
        select(Task.id).where(iam.engine(ctx).visible_tasks()))


def _payload(ctx: Context, rq_id: str, *, poll: bool = False) -> dict[str, Any]:
    view = ctx.mock.background.get(rq_id, poll=poll)
    if view is None:
        raise LambdaError(404, f"{rq_id} lambda job is not found")
    with ctx.mock.db.session() as db:
        call = db.get(LambdaCall, rq_id)
        params = {"id": call.function_id if call else view.function_id,
                  "threshold": call.threshold if call else None,
                  "task": call.task_id if call else view.task_id}
        if call is not None and call.job_id:
            params["job"] = call.job_id
    return FunctionCall.dump({
        "id": rq_id, "function": params, "status": view.status,
        "progress": int((view.progress or 0) * 100), "enqueued": view.created_date,
        "started": view.started_date, "ended": view.finished_date,
        "exc_info": view.message if view.status == "failed" else None}) or {}


def list_requests(ctx: Context) -> Any:
    iam.lambda_functions(ctx).check_view()
    with ctx.mock.db.read() as connection:
        ids = [rq for (rq,) in connection.execute(
            select(BackgroundRequest.rq_id).where(_visible_requests(ctx),
                                                  background.not_expired())
            .order_by(BackgroundRequest.pk))]
    return CvatJSONResponse([_payload(ctx, rq_id) for rq_id in ids])


def retrieve_request(ctx: Context, rq_id: str) -> Any:
    iam.lambda_functions(ctx).check_view()
    return CvatJSONResponse(_payload(ctx, rq_id, poll=True))


def delete_request(ctx: Context, rq_id: str) -> None:
    """``rq_job.delete()``: the request goes, whatever its state (running work stops)."""
    iam.lambda_functions(ctx).check_view()
    if ctx.mock.background.get(rq_id) is None or not rq_id.startswith(
            ("autoannotate:", "action=autoannotate")):
        raise LambdaError(404, f"{rq_id} lambda job is not found")
    ctx.mock.background.forget(rq_id)
    with ctx.mock.db.session() as db:
        row = db.get(LambdaCall, rq_id)
        if row is not None:
            db.delete(row)
