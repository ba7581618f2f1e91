"""The annotation and dataset operations tasks and jobs share: ``…/annotations/`` (JSON CRUD,
legacy export, import), ``…/dataset`` (legacy export) and ``…/dataset/export``. One
registration per kind; what differs between CVAT's task and job operations is spelled out.
(Not named ``annotations.py``: ``from __future__ import annotations`` in the package would shadow
it.)"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mockcvat import compat
from mockcvat.api import Api, Body, Context, Reply
from mockcvat.errors import gone_for_export_api, gone_when_checking_process_status
from mockcvat.routes import params, tus
from mockcvat.schemas.annotations import AnnotationFile, AnnotationsRead, LabeledData
from mockcvat.schemas.data import RqId
from mockcvat.schemas.fields import Serializer
from mockcvat.services import annotations, datasets, exports

MEDIA = ("application/json", "multipart/form-data")
BINARY = {"type": "string", "format": "binary"}


@dataclass(frozen=True)
class Variant:
    """Where CVAT's task and job operations differ."""

    import_body: type[Serializer]  # POST …/annotations/ (until 2.38; then AnnotationFile)
    update_body: type[Serializer]  # PUT …/annotations/ (until 2.38; then LabeledData)
    update_parameters: list[dict[str, Any]]  # PUT …/annotations/, until 2.38
    patch_reply: Reply
    no_data_reply: dict[int, Reply]  # the 400 tasks document for exports without data


# the query parameters of the legacy annotations export: from 2.32 any of them is a 410
LEGACY_EXPORT_QUERY = {"format", "filename", "action", "location", "cloud_storage_id"}


def add_annotation_routes(api: Api, kind: str, variant: Variant) -> None:
    base = f"/api/{kind}s/{{id:pk}}"

    async def retrieve(ctx: Context) -> Any:
        if not exports.has_download_endpoint():
            if ctx.params.get("format") is not None:
                return datasets.legacy_export(ctx, kind, ctx.pk(), save_images=False)
            return annotations.retrieve(ctx, kind, ctx.pk())
        gone = None
        if LEGACY_EXPORT_QUERY & ctx.params.keys():  # PR 9075
            gone = gone_for_export_api(f"/api/{kind}s/id/dataset/export?save_images=False")
        return annotations.retrieve(ctx, kind, ctx.pk(), gone=gone)

    async def create(ctx: Context) -> Any:
        return await datasets.receive_import(ctx, kind, ctx.pk())

    async def update(ctx: Context) -> Any:
        if ctx.params.get("format") is not None or ctx.params.get("rq_id") is not None:
            if ctx.mock.compat.has(since=compat.NO_LEGACY_IMPORTS):  # PR 9230
                annotations.load_for(ctx, kind, ctx.pk(), "update:annotations")
                raise gone_when_checking_process_status("import")
            return await datasets.put_import(ctx, kind, ctx.pk())
        return annotations.replace(ctx, kind, ctx.pk(), await ctx.json())

    async def partial_update(ctx: Context) -> Any:
        return annotations.partial_update(ctx, kind, ctx.pk(), await ctx.json())

    async def destroy(ctx: Context) -> None:
        annotations.destroy(ctx, kind, ctx.pk())

    async def retrieve_dataset(ctx: Context) -> Any:
        return datasets.legacy_export(ctx, kind, ctx.pk(), save_images=True)

    async def retrieve_dataset_gone(ctx: Context) -> Any:
        # PR 9075: an action without get_object(), so no lookup (and no 404) first
        raise gone_for_export_api(f"/api/{kind}s/id/dataset/export?save_images=True")

    async def create_dataset_export(ctx: Context) -> Any:
        return datasets.start_export(ctx, kind, ctx.pk())

    async def download_dataset(ctx: Context) -> Any:
        return datasets.download(ctx, kind, ctx.pk())

    since_32, until_32 = ({"since": compat.EXPORT_DOWNLOAD_ENDPOINT},
                          {"until": compat.EXPORT_DOWNLOAD_ENDPOINT})
    since_38, until_38 = ({"since": compat.NO_LEGACY_IMPORTS},
                          {"until": compat.NO_LEGACY_IMPORTS})
    api.operation(
        "GET", f"{base}/annotations/", f"{kind}s_retrieve_annotations",
        summary=f"Get {kind} annotations or export them as a dataset in a specific format",
        parameters=params.annotations_read(kind),
        responses={200: (Reply(AnnotationsRead, description="Download of file started",
                               **until_32),
                         Reply(LabeledData, **since_32)),
                   201: Reply(description="Output file is ready for downloading", **until_32),
                   202: Reply(description="Exporting has been started", **until_32),
                   **variant.no_data_reply,
                   405: Reply(description="Format is not available", **until_32),
                   410: Reply(description="API endpoint no longer handles exporting process",
                              **since_32)},
    )(retrieve)
    # CVAT's route also matches without the slash: the export's result_url uses that form
    api.operation("GET", f"{base}/annotations", f"{kind}s_retrieve_annotations_noslash",
                  in_schema=False)(retrieve)
    api.operation(
        "POST", f"{base}/annotations/", f"{kind}s_create_annotations",
        summary=f"Import annotations into a {kind}",
        parameters=params.by_name([*params.import_(), params.IMPORT_MODE]),
        body=(Body(variant.import_body, media_types=MEDIA, required=False, **until_38),
              Body(AnnotationFile, media_types=MEDIA, required=False)),
        responses={201: Reply(description="Uploading has finished"),
                   202: Reply(RqId, description="Uploading has been started"),
                   405: Reply(description="Format is not available")},
    )(create)
    tus.add_file_routes(api, f"{base}/annotations/", f"{kind}s_annotations",
                        lambda ctx: datasets.tus_area(ctx, kind, ctx.pk()))
    api.operation(
        "PUT", f"{base}/annotations/", f"{kind}s_update_annotations",
        summary=f"Replace {kind} annotations / Get annotation import status",
        parameters=params.until(variant.update_parameters, compat.NO_LEGACY_IMPORTS),
        body=(Body(variant.update_body, media_types=MEDIA, required=False, **until_38),
              Body(LabeledData, media_types=MEDIA, required=False)),
        responses={200: Reply(description="Annotations have been replaced", **since_38),
                   201: Reply(description="Import has finished", **until_38),
                   202: Reply(description="Import is in progress", **until_38),
                   405: Reply(description="Format is not available", **until_38)},
    )(update)
    api.operation(
        "PATCH", f"{base}/annotations/", f"{kind}s_partial_update_annotations",
        summary=f"Update {kind} annotations",
        parameters=[params.query("action", {"type": "string",
                                            "enum": ["create", "delete", "update"]},
                                 required=True)],
        body=Body(LabeledData, partial=True, media_types=MEDIA, required=False),
        responses={200: variant.patch_reply},
    )(partial_update)
    api.operation(
        "DELETE", f"{base}/annotations/", f"{kind}s_destroy_annotations",
        summary=f"Delete {kind} annotations", status=204,
        responses={204: Reply(description="The annotation has been deleted")},
    )(destroy)
    api.operation(
        "GET", f"{base}/dataset", f"{kind}s_retrieve_dataset",
        summary=f"Export {kind} as a dataset in a specific format",
        parameters=params.legacy_export(format_required=True),
        responses={200: Reply(schema=BINARY, description="Download of file started"),
                   201: Reply(description="Output file is ready for downloading"),
                   202: Reply(description="Exporting has been started"),
                   **variant.no_data_reply,
                   405: Reply(description="Format is not available")},
        until=compat.EXPORT_DOWNLOAD_ENDPOINT,
    )(retrieve_dataset)
    api.operation("GET", f"{base}/dataset", f"{kind}s_retrieve_dataset_gone", in_schema=False,
                  since=compat.EXPORT_DOWNLOAD_ENDPOINT)(retrieve_dataset_gone)
    # private (excluded from CVAT's schema): the result_url of exports from 2.32
    api.operation("GET", f"{base}/dataset/download", f"{kind}s_download_dataset",
                  in_schema=False, since=compat.EXPORT_DOWNLOAD_ENDPOINT)(download_dataset)
    api.operation(
        "POST", f"{base}/dataset/export", f"{kind}s_create_dataset_export",
        summary="Initialize process to export resource as a dataset in a specific format",
        parameters=params.export(with_format=True),
        responses={202: Reply(RqId, description="Exporting has been started"),
                   405: Reply(description="Format is not available"),
                   409: Reply(description="Exporting is already in progress")},
    )(create_dataset_export)
