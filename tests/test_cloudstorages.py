"""Cloud storages against real object-storage servers: moto (S3), Azurite (Azure) and
gcp-storage-emulator (GCS), through cvat-sdk 2.80 and raw HTTP."""

from __future__ import annotations

import io
import json

import pytest
from cvat_sdk.api_client import models
from cvat_sdk.api_client.exceptions import ApiException
from PIL import Image

from tests.cloud_servers import unique_bucket
from tests.conftest import STRONG_PASSWORD, raw_task, token_client


def jpeg(color: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (32, 24)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="JPEG")
    return out.getvalue()


def manifest(names_sizes: list[tuple[str, int, int]]) -> bytes:
    """CVAT's image manifest (manifest.jsonl)."""
    lines = [{"version": "1.1"}, {"type": "images"}]
    for name, width, height in names_sizes:
        stem, _, ext = name.rpartition(".")
        lines.append({"name": stem, "extension": f".{ext}", "width": width, "height": height,
                      "meta": {"related_images": []}})
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def s3_spec(s3_server, bucket: str, **extra) -> dict:
    return {"provider_type": "AWS_S3_BUCKET", "resource": bucket, "display_name": "Bucket",
            "credentials_type": "KEY_SECRET_KEY_PAIR", "key": "testing", "secret_key": "testing",
            "specific_attributes": f"endpoint_url={s3_server.endpoint}&region=us-east-1",
            **extra}


# --- CRUD and browsing ---------------------------------------------------------------------
def test_s3_storage_through_the_sdk(cvat_client, s3_server):
    bucket = s3_server.make_bucket()
    for i in range(5):
        s3_server.put(bucket, f"images/{i:02d}.jpg", jpeg())
    s3_server.put(bucket, "images/deep/x.jpg", jpeg())
    s3_server.put(bucket, "readme.txt", b"hello")
    s3_server.put(bucket, "manifest.jsonl", manifest([("images/00.jpg", 32, 24)]))
    api = cvat_client.api_client.cloudstorages_api
    created, _ = api.create(models.CloudStorageWriteRequest(
        **s3_spec(s3_server, bucket, manifests=["manifest.jsonl"], description="raw data")))
    assert created.provider_type.value == "AWS_S3_BUCKET"
    assert created.resource == bucket and created.manifests == ["manifest.jsonl"]
    assert created.owner.username == "admin" and created.organization is None
    body = created.to_dict()
    assert not {"key", "secret_key", "session_token", "credentials"} & set(body)

    page, _ = api.list(provider_type="AWS_S3_BUCKET")
    assert [s.id for s in page.results] == [created.id]
    status, _ = api.retrieve_status(created.id)
    assert status == "AVAILABLE"

    root, _ = api.retrieve_content_v2(created.id)
    assert [(c.name, c.type.value, c.mime_type) for c in root.content] == [
        ("images", "DIR", "DIR"), ("manifest.jsonl", "REG", "unknown"),
        ("readme.txt", "REG", "unknown")]
    first, _ = api.retrieve_content_v2(created.id, prefix="images/", page_size=3)
    assert [c.name for c in first.content] == ["00.jpg", "01.jpg", "02.jpg"]
    assert first.next
    second, _ = api.retrieve_content_v2(created.id, prefix="images/", page_size=3,
                                        next_token=first.next)
    assert [(c.name, c.mime_type) for c in second.content] == [("deep", "DIR"),
                                                                 ("03.jpg", "image"),
                                                                 ("04.jpg", "image")]
    assert second.next is None
    listed, _ = api.retrieve_content_v2(created.id, manifest_path="manifest.jsonl")
    assert [(c.name, c.type.value) for c in listed.content] == [("images", "DIR")]

    _, preview = api.retrieve_preview(created.id, _parse_response=False)
    assert preview.headers["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(preview.data)).size == (32, 24)

    updated, _ = api.partial_update(created.id, patched_cloud_storage_write_request=models.
                                    PatchedCloudStorageWriteRequest(display_name="Renamed"))
    assert updated.display_name == "Renamed"
    api.destroy(created.id)
    with pytest.raises(ApiException) as caught:
        api.retrieve(created.id)
    assert caught.value.status == 404


def test_creation_checks_the_bucket_first(admin, s3_server):
    missing = admin.post("/api/cloudstorages", json=s3_spec(s3_server, unique_bucket()))
    assert missing.status_code == 400
    assert missing.headers["content-type"].startswith("text/html")
    assert missing.text.startswith("resource: The resource bucket-")
    assert "not found. It may have been deleted." in missing.text
    bucket = s3_server.make_bucket()
    no_manifest = admin.post("/api/cloudstorages",
                             json=s3_spec(s3_server, bucket, manifests=["m.jsonl"]))
    assert no_manifest.status_code == 400
    assert no_manifest.text == (f"manifests: The 'm.jsonl' file does not exist on '{bucket}' "
                                "cloud storage\n")
    bad_name = admin.post("/api/cloudstorages", json=s3_spec(s3_server, "Bad_Name"))
    assert bad_name.status_code == 400 and bad_name.text.startswith("resource: Invalid characters")
    half = admin.post("/api/cloudstorages", json={**s3_spec(s3_server, bucket), "secret_key": ""})
    assert half.status_code == 400 and half.text == "Insufficient data for authentication\n"
    assert admin.get("/api/cloudstorages").json()["count"] == 0


def test_a_deleted_bucket_reports_not_found(admin, s3_server):
    bucket = s3_server.make_bucket()
    s3_server.put(bucket, "a.jpg", jpeg())
    created = admin.post("/api/cloudstorages", json=s3_spec(s3_server, bucket)).json()
    s3_server.delete_bucket(bucket)
    assert admin.get(f"/api/cloudstorages/{created['id']}/status").json() == "NOT_FOUND"
    listing = admin.get(f"/api/cloudstorages/{created['id']}/content-v2")
    assert listing.status_code == 400
    assert listing.json() == f"The resource {bucket} not found. It may have been deleted."


def test_revoked_credentials_report_forbidden(admin, s3_server):
    bucket = s3_server.make_bucket()
    iam = s3_server.client("iam")
    user, key, secret = s3_server.iam_user(bucket)
    spec = {**s3_spec(s3_server, bucket), "key": key, "secret_key": secret}
    s3_server.require_auth(True)
    try:
        wrong = admin.post("/api/cloudstorages", json={**spec, "secret_key": "x" * 40})
        assert wrong.status_code == 400
        assert wrong.text == (f"credentials: Cannot create resource {bucket} with specified "
                              "credentials. Access forbidden.\n")
        created = admin.post("/api/cloudstorages", json=spec)
        assert created.status_code == 201, created.text
        storage_id = created.json()["id"]
        assert admin.get(f"/api/cloudstorages/{storage_id}/status").json() == "AVAILABLE"
        s3_server.require_auth(False)
        iam.delete_access_key(UserName=user, AccessKeyId=key)
        s3_server.require_auth(True)
        assert admin.get(f"/api/cloudstorages/{storage_id}/status").json() == "FORBIDDEN"
        listing = admin.get(f"/api/cloudstorages/{storage_id}/content-v2")
        assert listing.status_code == 400
        assert listing.json() == (f"The resource {bucket} is no longer available. "
                                  "Access forbidden.")
    finally:
        s3_server.require_auth(False)


def test_azure_container_with_a_connection_string_and_a_sas(admin, azure_server):
    container = azure_server.make_container()
    for i in range(3):
        azure_server.put(container, f"frames/{i}.png", jpeg())
    spec = {"provider_type": "AZURE_CONTAINER", "resource": container, "display_name": "C",
            "credentials_type": "CONNECTION_STRING",
            "connection_string": azure_server.connection_string}
    created = admin.post("/api/cloudstorages", json=spec)
    assert created.status_code == 201, created.text
    storage_id = created.json()["id"]
    page = admin.get(f"/api/cloudstorages/{storage_id}/content-v2",
                     params={"prefix": "frames/", "page_size": 2}).json()
    assert [c["name"] for c in page["content"]] == ["0.png", "1.png"] and page["next"]
    rest = admin.get(f"/api/cloudstorages/{storage_id}/content-v2",
                     params={"prefix": "frames/", "next_token": page["next"]}).json()
    assert [c["name"] for c in rest["content"]] == ["2.png"] and rest["next"] is None
    assert admin.get(f"/api/cloudstorages/{storage_id}/actions").json() is None

    sas = admin.post("/api/cloudstorages", json={
        **spec, "connection_string": azure_server.sas_connection_string()})
    assert sas.status_code == 201, sas.text
    wrong = admin.post("/api/cloudstorages", json={
        **spec, "connection_string": azure_server.connection_string.replace("Eby8", "AAAA")})
    assert wrong.status_code == 400 and wrong.text.startswith("credentials: Cannot create")
    no_account = admin.post("/api/cloudstorages", json={**spec, "connection_string": ""})
    assert no_account.text == ("non_field_errors: Account name or connection string for Azure "
                               "container was not specified\n")


def test_gcs_bucket_through_the_emulator(admin, gcs_server):
    bucket = gcs_server.make_bucket()
    gcs_server.put(bucket, "a/b.jpg", jpeg())
    created = admin.post("/api/cloudstorages", json={
        "provider_type": "GOOGLE_CLOUD_STORAGE", "resource": bucket, "display_name": "G",
        "credentials_type": "ANONYMOUS_ACCESS",
        "specific_attributes": f"endpoint_url={gcs_server.endpoint}"})
    assert created.status_code == 201, created.text
    storage_id = created.json()["id"]
    assert admin.get(f"/api/cloudstorages/{storage_id}/status").json() == "AVAILABLE"
    content = admin.get(f"/api/cloudstorages/{storage_id}/content-v2",
                        params={"prefix": "a/"}).json()
    assert content == {"next": None, "content": [
        {"name": "b.jpg", "type": "REG", "mime_type": "image"}]}


def test_secrets_are_write_only_and_patch_checks_the_bucket(admin, s3_server):
    bucket = s3_server.make_bucket()
    created = admin.post("/api/cloudstorages", json=s3_spec(s3_server, bucket)).json()
    assert "secret_key" not in json.dumps(created) and "testing" not in json.dumps(created)
    moved = admin.patch(f"/api/cloudstorages/{created['id']}", json={"resource": "gone-bucket"})
    assert moved.status_code == 400
    assert moved.json() == {"resource": "The resource gone-bucket not found. It may have been "
                                        "deleted."}
    assert admin.get(f"/api/cloudstorages/{created['id']}").json()["resource"] == bucket
    bad = admin.patch(f"/api/cloudstorages/{created['id']}",
                      json={"specific_attributes": "region"})
    assert bad.status_code == 400
    assert bad.json() == {"specific_attributes": ["Invalid specific attributes"]}


def test_organization_storages_are_private(cvat_server, admin, s3_server):
    for name in ("olga", "max", "walt", "nina"):
        cvat_server.create_user(name, STRONG_PASSWORD)
    cvat_server.create_organization("acme", "olga", members={"max": "maintainer",
                                                            "walt": "worker"})
    bucket = s3_server.make_bucket()
    with token_client(cvat_server, "max", STRONG_PASSWORD) as max_, \
            token_client(cvat_server, "walt", STRONG_PASSWORD) as walt, \
            token_client(cvat_server, "nina", STRONG_PASSWORD) as nina:
        created = max_.post("/api/cloudstorages", json=s3_spec(s3_server, bucket),
                            headers={"X-Organization": "acme"})
        assert created.status_code == 201, created.text
        storage_id = created.json()["id"]
        assert walt.post("/api/cloudstorages", json=s3_spec(s3_server, bucket),
                         headers={"X-Organization": "acme"}).status_code == 403
        assert walt.get("/api/cloudstorages", headers={"X-Organization": "acme"}
                        ).json()["count"] == 0
        assert walt.get(f"/api/cloudstorages/{storage_id}").status_code == 403
        assert nina.get(f"/api/cloudstorages/{storage_id}").status_code == 403
        assert nina.get("/api/cloudstorages", headers={"X-Organization": "acme"}
                        ).status_code == 403
        assert nina.get("/api/cloudstorages").json()["count"] == 0
        assert admin.get(f"/api/cloudstorages/{storage_id}/status").json() == "AVAILABLE"


# --- task data from a bucket ---------------------------------------------------------------
def _bucket_with_images(s3_server, count: int = 4) -> tuple[str, list[bytes]]:
    bucket = s3_server.make_bucket()
    bodies = [jpeg((40 * i, 10, 200), (30 + i, 20)) for i in range(count)]
    for i, body in enumerate(bodies):
        s3_server.put(bucket, f"data/img_{i}.jpg", body)
    s3_server.put(bucket, "data/notes.txt", b"not media")
    return bucket, bodies


@pytest.mark.parametrize("use_cache", [True, False])
@pytest.mark.parametrize("with_manifest", [True, False])
def test_task_from_bucket_images(cvat_client, s3_server, use_cache, with_manifest):
    from cvat_sdk.core.proxies.tasks import ResourceType

    bucket, bodies = _bucket_with_images(s3_server)
    if with_manifest:
        s3_server.put(bucket, "data/manifest.jsonl", manifest(
            [(f"img_{i}.jpg", 30 + i, 20) for i in range(len(bodies))]))
    api = cvat_client.api_client.cloudstorages_api
    storage, _ = api.create(models.CloudStorageWriteRequest(**s3_spec(s3_server, bucket)))
    files = ["data/manifest.jsonl"] if with_manifest else ["data/"]
    task = cvat_client.tasks.create_from_data(
        {"name": "from bucket", "labels": [{"name": "car"}], "segment_size": 2},
        resource_type=ResourceType.SHARE, resources=files,
        data_params={"cloud_storage_id": storage.id, "use_cache": use_cache,
                     "image_quality": 80, "sorting_method": "natural"})
    assert task.size == 4
    meta = task.get_meta()
    assert [(f.name, f.width) for f in meta.frames] == [
        (f"data/img_{i}.jpg", 30 + i) for i in range(4)]
    assert len(task.get_jobs()) == 2
    data = cvat_client.api_client.tasks_api.retrieve(task.id)[0]
    assert str(data.data_original_chunk_type) == "imageset"
    frame = task.get_frame(2, quality="original")
    assert frame.read() == bodies[2]
    if use_cache:  # read from the bucket, not from a copy: a changed object shows
        s3_server.put(bucket, "data/img_3.jpg", jpeg((0, 255, 0), (33, 20)))
        assert Image.open(task.get_frame(3, quality="original")).getpixel((1, 1))[1] > 200


def test_task_from_bucket_selection(cvat_client, admin, s3_server):
    bucket, _ = _bucket_with_images(s3_server, 5)
    s3_server.put(bucket, "data/sub/extra.jpg", jpeg())
    storage = admin.post("/api/cloudstorages", json=s3_spec(s3_server, bucket)).json()
    task = admin.post("/api/tasks", json={"name": "t", "labels": [{"name": "a"}]}).json()
    started = admin.post(f"/api/tasks/{task['id']}/data/", json={
        "image_quality": 70, "cloud_storage_id": storage["id"], "use_cache": True,
        "server_files": ["data/"], "server_files_exclude": ["data/img_0.jpg", "data/sub/"]})
    assert started.status_code == 202, started.text
    names = [f["name"] for f in admin.get(f"/api/tasks/{task['id']}/data/meta").json()["frames"]]
    assert names == [f"data/img_{i}.jpg" for i in range(1, 5)]

    task2 = admin.post("/api/tasks", json={"name": "t2", "labels": [{"name": "a"}]}).json()
    admin.post(f"/api/tasks/{task2['id']}/data/", json={
        "image_quality": 70, "cloud_storage_id": storage["id"], "use_cache": True,
        "server_files": [], "filename_pattern": "data/img_[23].jpg"}).raise_for_status()
    names = [f["name"] for f in admin.get(f"/api/tasks/{task2['id']}/data/meta").json()["frames"]]
    assert names == ["data/img_2.jpg", "data/img_3.jpg"]


def test_unknown_or_foreign_cloud_storage_ids_are_refused(cvat_server, admin, s3_server):
    task = admin.post("/api/tasks", json={"name": "t", "labels": [{"name": "a"}]}).json()
    unknown = admin.post(f"/api/tasks/{task['id']}/data/", json={
        "image_quality": 70, "cloud_storage_id": 999, "server_files": ["a.jpg"]})
    assert unknown.status_code == 400
    assert unknown.json() == ["CloudStorage matching query does not exist."]
    for key in ("source_storage", "target_storage"):
        refused = admin.post("/api/tasks", json={
            "name": "t", "labels": [{"name": "a"}],
            key: {"location": "cloud_storage", "cloud_storage_id": 999}})
        assert refused.status_code == 400, refused.text
        assert admin.post("/api/projects", json={
            "name": "p", key: {"location": "cloud_storage", "cloud_storage_id": 999}}
        ).status_code == 400
    export = admin.post(f"/api/tasks/{task['id']}/dataset/export", params={
        "format": "COCO 1.0", "location": "cloud_storage", "cloud_storage_id": 999})
    assert export.status_code == 400

    cvat_server.create_user("paul", STRONG_PASSWORD)
    bucket = s3_server.make_bucket()
    theirs = admin.post("/api/cloudstorages", json=s3_spec(s3_server, bucket)).json()
    with token_client(cvat_server, "paul", STRONG_PASSWORD) as paul:
        own = paul.post("/api/tasks", json={"name": "t", "labels": [{"name": "a"}]}).json()
        denied = paul.post(f"/api/tasks/{own['id']}/data/", json={
            "image_quality": 70, "cloud_storage_id": theirs["id"], "server_files": ["a.jpg"]})
        assert denied.status_code == 403


def test_data_meta_links_and_unlinks_a_cloud_storage(admin, s3_server):
    """2.44+: ``PATCH …/data/meta`` takes ``cloud_storage_id``; an unknown id is CVAT's 400."""
    task = raw_task(admin)
    url = f"/api/tasks/{task['id']}/data/meta"
    storage = admin.post("/api/cloudstorages",
                         json=s3_spec(s3_server, s3_server.make_bucket())).json()
    linked = admin.patch(url, json={"deleted_frames": [], "cloud_storage_id": storage["id"]})
    assert linked.status_code == 200, linked.text
    assert linked.json()["cloud_storage_id"] == storage["id"]
    assert admin.get(url).json()["cloud_storage_id"] == storage["id"]
    assert admin.get(f"/api/tasks/{task['id']}").json()["data_cloud_storage_id"] == storage["id"]
    unknown = admin.patch(url, json={"deleted_frames": [], "cloud_storage_id": 999})
    assert unknown.status_code == 400
    assert unknown.json() == ["CloudStorage matching query does not exist."]
    unlinked = admin.patch(url, json={"deleted_frames": [], "cloud_storage_id": None})
    assert unlinked.json()["cloud_storage_id"] is None


# --- exports, imports and backups through a bucket ------------------------------------------
def _wait(admin, rq_id: str) -> dict:
    request = admin.get(f"/api/requests/{rq_id}").json()
    assert request["status"] == "finished", request
    return request


def test_export_import_and_backup_through_a_bucket(cvat_client, admin, s3_server):
    from cvat_sdk.core.proxies.tasks import ResourceType

    bucket = s3_server.make_bucket()
    s3_server.put(bucket, "in/a.jpg", jpeg(size=(40, 30)))
    s3_server.put(bucket, "in/b.jpg", jpeg(size=(40, 30)))
    storage = admin.post("/api/cloudstorages", json=s3_spec(s3_server, bucket)).json()
    task = cvat_client.tasks.create_from_data(
        {"name": "cats", "labels": [{"name": "cat"}]}, resource_type=ResourceType.SHARE,
        resources=["in/"], data_params={"cloud_storage_id": storage["id"], "image_quality": 90,
                                        "use_cache": True})
    label = task.get_labels()[0].id
    task.set_annotations(models.LabeledDataRequest(shapes=[models.LabeledShapeRequest(
        type="rectangle", frame=0, label_id=label, points=[1, 2, 10, 12])]))

    # a COCO dataset into the bucket, through the SDK's low-level API
    rq, _ = cvat_client.api_client.tasks_api.create_dataset_export(
        "COCO 1.0", task.id, save_images=True, location="cloud_storage",
        cloud_storage_id=storage["id"], filename="out/coco.zip")
    assert _wait(admin, rq.rq_id)["result_url"] is None
    assert "out/coco.zip" in s3_server.keys(bucket)
    import zipfile

    with zipfile.ZipFile(io.BytesIO(s3_server.get(bucket, "out/coco.zip"))) as archive:
        coco = json.loads(archive.read("annotations/instances_default.json"))
    assert [a["bbox"] for a in coco["annotations"]] == [[1.0, 2.0, 9.0, 10.0]]

    # the task's target storage as the default location
    admin.patch(f"/api/tasks/{task.id}", json={
        "target_storage": {"location": "cloud_storage", "cloud_storage_id": storage["id"]},
        "source_storage": {"location": "cloud_storage", "cloud_storage_id": storage["id"]},
    }).raise_for_status()
    default = admin.post(f"/api/tasks/{task.id}/dataset/export",
                         params={"format": "CVAT for images 1.1", "filename": "default.zip"})
    _wait(admin, default.json()["rq_id"])
    assert "default.zip" in s3_server.keys(bucket)

    # annotations back from the bucket (the source storage by default)
    task.remove_annotations()
    assert task.get_annotations().shapes == []
    imported = admin.post(f"/api/tasks/{task.id}/annotations/",
                          params={"format": "COCO 1.0", "filename": "out/coco.zip"})
    assert imported.status_code == 202, imported.text
    _wait(admin, imported.json()["rq_id"])
    assert [s.points for s in task.get_annotations().shapes] == [[1.0, 2.0, 10.0, 12.0]]

    # data in a bucket cannot be backed up (CVAT's NotImplementedError); a local task can
    failed = admin.post(f"/api/tasks/{task.id}/backup/export",
                        params={"location": "cloud_storage", "cloud_storage_id": storage["id"]})
    request = admin.get(f"/api/requests/{failed.json()['rq_id']}").json()
    assert request["status"] == "failed"
    assert "backing up tasks with data from cloud storage" in request["message"]
    local = cvat_client.tasks.create_from_data(
        {"name": "local", "labels": [{"name": "dog"}]}, resources=[_write(jpeg())])
    exported = admin.post(f"/api/tasks/{local.id}/backup/export", params={
        "location": "cloud_storage", "cloud_storage_id": storage["id"],
        "filename": "backups/local.zip"})
    assert _wait(admin, exported.json()["rq_id"])["result_url"] is None
    assert "backups/local.zip" in s3_server.keys(bucket)
    restored = admin.post("/api/tasks/backup/", params={
        "location": "cloud_storage", "cloud_storage_id": storage["id"],
        "filename": "backups/local.zip"})
    assert restored.status_code == 202, restored.text
    new_id = _wait(admin, restored.json()["rq_id"])["result_id"]
    copy = admin.get(f"/api/tasks/{new_id}").json()
    assert copy["name"] == "local" and copy["size"] == 1

    missing = admin.post("/api/tasks/backup/", params={
        "location": "cloud_storage", "cloud_storage_id": storage["id"], "filename": "nope.zip"})
    assert missing.status_code == 404
    assert missing.json() == {"detail": f"The file 'nope.zip' not found on the cloud storage "
                                        f"'{bucket}'"}


def _write(body: bytes):
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp()) / "one.jpg"
    path.write_bytes(body)
    return path


def test_project_dataset_export_and_import_through_a_bucket(cvat_client, admin, s3_server):
    bucket = s3_server.make_bucket()
    storage = admin.post("/api/cloudstorages", json=s3_spec(s3_server, bucket)).json()
    source = cvat_client.projects.create({"name": "src", "labels": [{"name": "cat"}]})
    task = cvat_client.tasks.create_from_data(
        {"name": "t", "project_id": source.id, "subset": "train"},
        resources=[_write(jpeg(size=(16, 12)))])
    label = source.get_labels()[0].id
    task.set_annotations(models.LabeledDataRequest(shapes=[models.LabeledShapeRequest(
        type="rectangle", frame=0, label_id=label, points=[1, 1, 5, 5])]))
    exported = admin.post(f"/api/projects/{source.id}/dataset/export", params={
        "format": "COCO 1.0", "save_images": True, "location": "cloud_storage",
        "cloud_storage_id": storage["id"], "filename": "project.zip"})
    _wait(admin, exported.json()["rq_id"])
    target = admin.post("/api/projects", json={
        "name": "dst", "labels": [{"name": "cat"}],
        "source_storage": {"location": "cloud_storage", "cloud_storage_id": storage["id"]}}).json()
    imported = admin.post(f"/api/projects/{target['id']}/dataset/",
                          params={"format": "COCO 1.0", "filename": "project.zip"})
    assert imported.status_code == 202, imported.text
    _wait(admin, imported.json()["rq_id"])
    tasks = admin.get("/api/tasks", params={"project_id": target["id"]}).json()["results"]
    assert [(t["subset"], t["size"]) for t in tasks] == [("train", 1)]


def test_task_from_an_azure_container_through_the_sdk(cvat_client, azure_server):
    from cvat_sdk.core.proxies.tasks import ResourceType

    container = azure_server.make_container()
    bodies = [jpeg((10, 20 * i, 30), (24, 16)) for i in range(3)]
    for i, body in enumerate(bodies):
        azure_server.put(container, f"shots/{i}.jpg", body)
    api = cvat_client.api_client.cloudstorages_api
    # an account name and a SAS token (endpoint_url points the account at Azurite)
    storage, _ = api.create(models.CloudStorageWriteRequest(
        provider_type="AZURE_CONTAINER", resource=container, display_name="shots",
        credentials_type="ACCOUNT_NAME_TOKEN_PAIR", account_name="devstoreaccount1",
        session_token=azure_server.sas_token(),
        specific_attributes=f"endpoint_url={azure_server.blob_endpoint}"))
    assert api.retrieve_status(storage.id)[0] == "AVAILABLE"
    task = cvat_client.tasks.create_from_data(
        {"name": "azure", "labels": [{"name": "car"}]}, resource_type=ResourceType.SHARE,
        resources=["shots/"], data_params={"cloud_storage_id": storage.id, "use_cache": True})
    assert task.size == 3
    assert task.get_frame(1, quality="original").read() == bodies[1]
