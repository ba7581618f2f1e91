"""Annotation guides and their assets through the real cvat-sdk 2.80 low-level API, and raw
HTTP for CVAT's limits and messages (``AnnotationGuidesViewSet``, ``AssetsViewSet``,
``ASSET_*`` settings of CVAT's ``settings/base.py``)."""

from __future__ import annotations

import io
import re

import pytest
from cvat_sdk.api_client import models
from PIL import Image

from mockcvat.services import guides as guide_service

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
UNSUPPORTED = ("File is not supported as an asset. Supported are ('image/jpeg', 'image/png', "
               "'image/webp', 'image/gif', 'application/pdf')")


def image_bytes(size=(40, 30), fmt="PNG", mode="RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (200, 30, 60)).save(out, format=fmt)
    return out.getvalue()


def reencoded(data: bytes, name: str) -> bytes:
    """What CVAT stores for an uploaded PNG/JPEG: Pillow opens it and saves it again."""
    out = io.BytesIO()
    with Image.open(io.BytesIO(data)) as image:
        image.save(out, format=Image.registered_extensions()["." + name.rsplit(".", 1)[1]])
    return out.getvalue()


@pytest.fixture
def task(admin) -> dict:
    response = admin.post("/api/tasks", json={"name": "guided", "labels": [{"name": "car"}]})
    assert response.status_code == 201, response.text
    return response.json()


def upload(client, guide_id, name, data, content_type):
    return client.post("/api/assets", data={"guide_id": str(guide_id)},
                       files={"file": (name, data, content_type)})


def test_sdk_guide_with_an_image_asset(cvat_client, tmp_path, admin, task):
    api = cvat_client.api_client
    guide, _ = api.guides_api.create(annotation_guide_write_request=models.
                                     AnnotationGuideWriteRequest(task_id=task["id"],
                                                                 markdown="# Rules"))
    assert (guide.task_id, guide.project_id, guide.markdown) == (task["id"], None, "# Rules")
    assert cvat_client.tasks.retrieve(task["id"]).guide_id == guide.id

    picture = tmp_path / "car.png"
    picture.write_bytes(image_bytes())
    with picture.open("rb") as handle:
        asset, response = api.assets_api.create(guide_id=guide.id, file=handle)
    assert response.status == 201
    assert (asset.filename, asset.guide_id, asset.owner.username) == ("car.png", guide.id,
                                                                      "admin")
    markdown = f"# Rules\n![car](/api/assets/{asset.uuid})"
    guide, _ = api.guides_api.partial_update(
        guide.id, patched_annotation_guide_write_request=models.
        PatchedAnnotationGuideWriteRequest(markdown=markdown))
    assert guide.markdown == markdown

    _, raw = api.assets_api.retrieve(asset.uuid, _parse_response=False)
    stored = raw.data
    assert stored == reencoded(picture.read_bytes(), "car.png")
    with Image.open(io.BytesIO(stored)) as back, Image.open(picture) as sent:
        assert back.size == sent.size and back.tobytes() == sent.convert(back.mode).tobytes()
    assert raw.headers["Content-Type"] == "image/png"
    assert raw.headers["Content-Disposition"] == 'inline; filename="car.png"'

    api.guides_api.destroy(guide.id)
    assert cvat_client.tasks.retrieve(task["id"]).guide_id is None
    assert admin.get(f"/api/assets/{asset.uuid}").status_code == 404


def test_pdf_assets_are_served_byte_for_byte(admin, task):
    guide = admin.post("/api/guides", json={"task_id": task["id"]}).json()
    asset = upload(admin, guide["id"], "rules.pdf", PDF, "application/pdf")
    assert asset.status_code == 201, asset.text
    served = admin.get(f"/api/assets/{asset.json()['uuid']}")
    assert served.content == PDF and served.headers["content-type"] == "application/pdf"
    assert served.headers["content-length"] == str(len(PDF))


def test_large_images_are_scaled_to_1920(admin, task):
    guide = admin.post("/api/guides", json={"task_id": task["id"]}).json()
    asset = upload(admin, guide["id"], "wide.jpg", image_bytes((3000, 1000), "JPEG"),
                   "image/jpeg").json()
    with Image.open(io.BytesIO(admin.get(f"/api/assets/{asset['uuid']}").content)) as image:
        assert (image.format, image.size) == ("JPEG", (1920, 640))


def test_asset_limits_and_messages(admin, task, monkeypatch):
    guide_id = admin.post("/api/guides", json={"task_id": task["id"]}).json()["id"]

    def refused(response, message):
        assert (response.status_code, response.json()) == (400, [message])

    refused(upload(admin, guide_id, "x.txt", b"hello", "text/plain"), UNSUPPORTED)
    refused(admin.post("/api/assets", files={"guide_id": (None, str(guide_id))}),
            "Asset file was not provided")
    refused(admin.post("/api/assets", json={"guide_id": guide_id}), "Asset file was not provided")
    # CVAT's upload views parse JSON and multipart only
    assert admin.post("/api/assets", data={"guide_id": str(guide_id)}).status_code == 415
    refused(upload(admin, 10**6, "a.png", image_bytes(), "image/png"),
            "AnnotationGuide matching query does not exist.")
    refused(upload(admin, "x", "a.png", image_bytes(), "image/png"),
            "AnnotationGuide matching query does not exist.")
    big = b"\0" * (10 * 1024 * 1024 + 1)
    refused(upload(admin, guide_id, "big.pdf", big, "application/pdf"),
            "Maximum size of asset is 10 MB")
    assert upload(admin, guide_id, "edge.pdf", big[:-1], "application/pdf").status_code == 201
    # a PNG that is no image: CVAT fails with a 500 after saving the row; mockcvat refuses
    response = upload(admin, guide_id, "broken.png", b"not an image", "image/png")
    assert response.status_code == 400 and "could not be saved as an image" in response.text

    monkeypatch.setattr(guide_service, "ASSET_MAX_COUNT_PER_GUIDE", 2)
    assert upload(admin, guide_id, "b.gif", image_bytes(fmt="GIF"), "image/gif").status_code \
        == 201
    refused(upload(admin, guide_id, "c.webp", image_bytes(fmt="WEBP"), "image/webp"),
            "Maximum number of assets per guide reached")
    assert admin.get(f"/api/guides/{guide_id}").status_code == 200


def test_guide_bodies(admin, task):
    project = admin.post("/api/projects", json={"name": "p"}).json()
    assert admin.post("/api/guides", json={}).json() == [
        "One of project_id or task_id must be specified"]
    assert admin.post("/api/guides", json={"task_id": task["id"],
                                           "project_id": project["id"]}).json() == [
        "Both project_id and task_id must not be specified"]
    assert admin.post("/api/guides", json={"task_id": 10**6}).json() == [
        "Task matching query does not exist."]
    assert admin.post("/api/guides", json={"project_id": 10**6, "task_id": task["id"]}).json() \
        == ["Project matching query does not exist."]
    guide = admin.post("/api/guides", json={"project_id": project["id"], "markdown": " md "})
    assert guide.status_code == 201 and guide.json()["markdown"] == "md"
    assert admin.get(f"/api/projects/{project['id']}").json()["guide_id"] == guide.json()["id"]
    # one guide per project or task (CVAT: an IntegrityError, 500)
    again = admin.post("/api/guides", json={"project_id": project["id"]})
    assert again.status_code == 400
    moved = admin.patch(f"/api/guides/{guide.json()['id']}", json={"task_id": task["id"]})
    assert moved.status_code == 400 and "task_id" in moved.json()
    assert admin.get("/api/guides/999").json() == {
        "detail": "No AnnotationGuide matches the given query."}


def test_jobs_show_their_projects_guide_else_their_tasks(admin):
    from tests.test_issues import make_task

    project = admin.post("/api/projects", json={"name": "p", "labels": [{"name": "a"}]}).json()
    in_project, (job_in_project, _) = make_task(admin, project_id=project["id"], labels=[])
    alone, (job_alone, _) = make_task(admin)
    task_guide = admin.post("/api/guides", json={"task_id": in_project}).json()["id"]
    assert admin.get(f"/api/jobs/{job_in_project}").json()["guide_id"] is None
    project_guide = admin.post("/api/guides", json={"project_id": project["id"]}).json()["id"]
    assert admin.get(f"/api/jobs/{job_in_project}").json()["guide_id"] == project_guide
    assert admin.get(f"/api/tasks/{in_project}").json()["guide_id"] == task_guide
    alone_guide = admin.post("/api/guides", json={"task_id": alone}).json()["id"]
    assert admin.get(f"/api/jobs/{job_alone}").json()["guide_id"] == alone_guide


def test_saving_a_guide_reconciles_its_assets(admin, task):
    """Assets the markdown no longer mentions go; assets of another guide are copied in."""
    first = admin.post("/api/guides", json={"task_id": task["id"]}).json()["id"]
    a = upload(admin, first, "a.pdf", PDF, "application/pdf").json()["uuid"]
    b = upload(admin, first, "b.pdf", PDF, "application/pdf").json()["uuid"]
    admin.patch(f"/api/guides/{first}", json={"markdown": f"[a](/api/assets/{a.upper()})"})
    assert admin.get(f"/api/assets/{a}").status_code == 200
    assert admin.get(f"/api/assets/{b}").status_code == 404

    other_task = admin.post("/api/tasks", json={"name": "t2", "labels": [{"name": "x"}]}).json()
    second = admin.post("/api/guides", json={
        "task_id": other_task["id"], "markdown": f"see [a](/api/assets/{a})"}).json()
    (copied,) = re.findall(r"/api/assets/([0-9a-f-]{36})", second["markdown"])
    assert copied != a
    assert admin.get(f"/api/assets/{copied}").content == PDF
    admin.delete(f"/api/guides/{first}")
    assert admin.get(f"/api/assets/{a}").status_code == 404
    assert admin.get(f"/api/assets/{copied}").status_code == 200


def test_asset_lookups(admin, http, task):
    guide_id = admin.post("/api/guides", json={"task_id": task["id"]}).json()["id"]
    asset = upload(admin, guide_id, "a.pdf", PDF, "application/pdf").json()
    assert admin.get("/api/assets/not-a-uuid").json() == {"detail": "Not found."}
    assert admin.get("/api/assets/00000000-0000-0000-0000-000000000000").json() == {
        "detail": "No Asset matches the given query."}
    # anonymous: unknown is 404, existing is 401 (the guide is not public)
    assert http.get("/api/assets/00000000-0000-0000-0000-000000000000").status_code == 404
    assert http.get(f"/api/assets/{asset['uuid']}").status_code == 401
    assert admin.delete(f"/api/assets/{asset['uuid']}").status_code == 204
    assert admin.get(f"/api/assets/{asset['uuid']}").status_code == 404


def test_deleting_the_task_deletes_guide_and_asset_files(cvat_server, admin, task):
    guide_id = admin.post("/api/guides", json={"task_id": task["id"]}).json()["id"]
    asset = upload(admin, guide_id, "a.pdf", PDF, "application/pdf").json()
    media = cvat_server.mock.media
    folder = guide_service.asset_dir(asset["uuid"])
    assert media.get(folder + "a.pdf") == PDF
    assert admin.delete(f"/api/tasks/{task['id']}").status_code == 204
    assert list(media.walk(folder)) == []
    assert admin.get(f"/api/guides/{guide_id}").status_code == 404
