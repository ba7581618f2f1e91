"""The server's media behind the byte-store interface (``mockcvat/storage/media.py``): the
moves of whole objects and trees every store does (a directory: renames and hard links; S3:
server-side copies and batch deletes), the media root's two areas, and a server whose media
live in an S3 bucket (moto's server) with nothing of them on its disk.

The rest of the suite runs on S3 media too with ``MOCKCVAT_TEST_S3_MEDIA=1`` (README,
"A shared team instance").
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from cvat_sdk.core.proxies.tasks import ResourceType
from PIL import Image

from mockcvat.settings import Settings, SettingsError
from mockcvat.storage import ByteStore, LocalStore, ObjectNotFound
from mockcvat.storage.media import MediaStore, PrefixedStore, media_store, parse_media_url
from mockcvat.storage.s3 import S3Store
from mockcvat.testing import MockCVATServer
from tests.clients import token_client
from tests.cloud_servers import S3_CREDENTIALS, S3Server


def _png(color: tuple[int, int, int], size: tuple[int, int] = (32, 24)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """The AWS variables a media store reads its credentials from (moto takes any)."""
    for name, value in S3_CREDENTIALS.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ByteStore:
    """The same operations on a directory and on a prefix of an S3 bucket."""
    if request.param == "local":
        return LocalStore(tmp_path / "root")
    s3: S3Server = request.getfixturevalue("s3_server")
    bucket = s3.make_bucket()
    return PrefixedStore(S3Store(bucket, access_key_id=s3.key, secret_key=s3.secret,
                                 endpoint_url=s3.endpoint), "some/prefix/")


# --- the operations on whole objects and trees ---------------------------------------------------
def test_copy_rename_and_delete_prefix(store: ByteStore) -> None:
    store.put("a/1.bin", b"one")
    store.put("a/b/2.bin", b"two")
    store.put("ab/3.bin", b"three")  # starts like a/ but is not under it
    store.copy("a/1.bin", "c/1.bin")
    store.put("a/1.bin", b"changed")  # a copy does not follow its original
    assert store.get("c/1.bin") == b"one"
    store.rename("c/1.bin", "d/x.bin")
    assert not store.exists("c/1.bin") and store.get("d/x.bin") == b"one"
    with pytest.raises(ObjectNotFound):
        store.rename("c/1.bin", "e.bin")
    store.delete_prefix("a/")
    assert sorted(store.walk("")) == ["ab/3.bin", "d/x.bin"]


def test_trees_in_and_out_and_pieces_joined(store: ByteStore, tmp_path: Path) -> None:
    tree = tmp_path / "made"
    (tree / "raw" / "sub").mkdir(parents=True)
    (tree / "raw" / "sub" / "x.png").write_bytes(b"x" * 5000)
    (tree / "manifest.json").write_bytes(b"{}")
    store.put_tree("data/7/", tree)
    assert not tree.exists()  # used up
    assert sorted(store.walk("data/7/")) == ["data/7/manifest.json", "data/7/raw/sub/x.png"]
    local = store.local_tree("data/7/raw/", tmp_path / "copy")
    assert (local / "sub" / "x.png").read_bytes() == b"x" * 5000
    assert store.local_file("data/7/manifest.json", tmp_path / "one").read_bytes() == b"{}"
    assert b"".join(store.iter_bytes("data/7/raw/sub/x.png", piece=1024)) == b"x" * 5000

    store.put("up/piece-0", b"abc")
    store.put("up/piece-1", b"")
    store.put("up/piece-2", b"def")
    store.compose("up/file", ["up/piece-0", "up/piece-1", "up/piece-2"], tmp_path)
    assert store.get("up/file") == b"abcdef"
    assert sorted(store.walk("up/")) == ["up/file"]


def test_the_media_root_keeps_and_restores_entries(store: ByteStore, tmp_path: Path) -> None:
    media = MediaStore(store, tmp_path / "cache")
    media.put("data/1/raw/a.png", b"a")
    media.put("data/1/manifest.json", b"{}")
    media.put("exports/task-1-x.zip", b"zip")
    media.put("tmp/scratch", b"never state")
    assert sorted(media.entries()) == ["data/1/", "exports/task-1-x.zip"]
    media.keep(["data/1/", "exports/task-1-x.zip"])
    assert sorted(store.walk("reset-media/")) == [
        "reset-media/data/1/manifest.json", "reset-media/data/1/raw/a.png",
        "reset-media/exports/task-1-x.zip"]
    media.remove("data/1/")
    media.remove("exports/task-1-x.zip")
    media.put("data/2/raw/b.png", b"b")
    media.restore(["data/1/", "exports/task-1-x.zip"])
    assert media.get("data/1/raw/a.png") == b"a" and media.get("exports/task-1-x.zip") == b"zip"
    assert media.cached_file("data/1/raw/a.png").read_bytes() == b"a"


# --- settings ----------------------------------------------------------------------------------
def test_media_url_settings(tmp_path: Path) -> None:
    assert parse_media_url("s3://bucket") == ("bucket", "")
    assert parse_media_url("s3://bucket/a/b/") == ("bucket", "a/b/")
    for wrong in ("bucket/prefix", "gs://bucket", "s3:///prefix", "s3://b/p?x=1"):
        with pytest.raises(SettingsError, match="--media-url"):
            Settings(data_dir=tmp_path, media_url=wrong).check()
    with pytest.raises(SettingsError, match="--media-endpoint"):
        Settings(data_dir=tmp_path, media_endpoint="http://127.0.0.1:9").check()


def test_a_media_store_that_cannot_be_reached_stops_the_start(
        tmp_path: Path, aws: None, s3_server: S3Server) -> None:
    with pytest.raises(SettingsError, match="--media-url.*NOT_FOUND"):
        MockCVATServer(data_dir=tmp_path, database_url="sqlite://", port=0,
                       media_url="s3://no-such-bucket/p", media_endpoint=s3_server.endpoint
                       ).start()


# --- a server with its media in a bucket ---------------------------------------------------------
@pytest.fixture
def s3_media(s3_server: S3Server, aws: None, tmp_path: Path) -> Iterator[tuple[MockCVATServer,
                                                                              str]]:
    """A server whose media are in a bucket of its own, under ``team/``."""
    bucket = s3_server.make_bucket()
    with MockCVATServer(data_dir=tmp_path / "data", media_url=f"s3://{bucket}/team",
                        media_endpoint=s3_server.endpoint) as server:
        yield server, bucket


def test_everything_a_task_makes_lives_in_the_bucket(s3_media: tuple[MockCVATServer, str],
                                                     s3_server: S3Server,
                                                     tmp_path: Path) -> None:
    server, bucket = s3_media
    client = server.make_client()
    images = []
    for i in range(3):
        path = tmp_path / f"{i}.png"
        path.write_bytes(_png((40 * i, 0, 0)))
        images.append(path)
    task = client.tasks.create_from_data(
        {"name": "t", "labels": [{"name": "car"}]}, resource_type=ResourceType.LOCAL,
        resources=images)
    data_id = task.data
    assert task.size == 3
    # the frames come from the bucket, and so do the chunks once built
    frame = task.get_frame(1, quality="original").read()
    assert frame == images[1].read_bytes()
    chunk = zipfile.ZipFile(io.BytesIO(_chunk(server, task.id)))
    assert len(chunk.namelist()) == 3
    keys = s3_server.keys(bucket)
    assert f"team/media/data/{data_id}/manifest.json" in keys
    assert f"team/media/data/{data_id}/raw/1.png" in keys
    assert any(k.startswith(f"team/media/data/{data_id}/cache/chunk-0-3-original") for k in keys)
    # an export and a backup: made in scratch, stored in the bucket, downloaded from it
    task.export_dataset("COCO 1.0", tmp_path / "coco.zip", include_images=True)
    with zipfile.ZipFile(tmp_path / "coco.zip") as archive:
        assert "annotations/instances_default.json" in archive.namelist()
    task.download_backup(tmp_path / "backup.zip")
    restored = client.tasks.create_from_backup(tmp_path / "backup.zip")
    assert restored.get_frame(2, quality="original").read() == images[2].read_bytes()
    keys = s3_server.keys(bucket)
    assert any(k.startswith("team/media/exports/task-") for k in keys)
    assert any(k.startswith("team/media/backups/task-") for k in keys)
    # nothing of the media on the server's disk (scratch is emptied after each piece of work)
    scratch = Path(server.mock.tmp_dir)
    local = [p for p in (tmp_path / "data" / "media").rglob("*")
             if p.is_file() and not p.is_relative_to(scratch)]
    assert local == []
    assert not scratch.exists() or not any(p.is_file() for p in scratch.rglob("*"))


def _chunk(server: MockCVATServer, task_id: int) -> bytes:
    with token_client(server, *server.admin_credentials) as admin:
        answer = admin.get(f"/api/tasks/{task_id}/data/",
                           params={"type": "chunk", "number": 0, "quality": "original"})
        assert answer.status_code == 200
        return answer.content


def test_uploads_in_pieces_and_assets_go_through_the_bucket(
        s3_media: tuple[MockCVATServer, str], s3_server: S3Server) -> None:
    server, bucket = s3_media
    with token_client(server, *server.admin_credentials) as admin:
        task = admin.post("/api/tasks", json={"name": "t", "labels": [{"name": "car"}]}).json()
        url = f"/api/tasks/{task['id']}/data/"
        assert admin.post(url, headers={"Upload-Start": ""}).status_code == 202
        body = _png((1, 2, 3), (64, 48))
        created = admin.post(url, headers={"Upload-Length": str(len(body)),
                                           "Upload-Metadata": "filename YS5wbmc=",
                                           "Tus-Resumable": "1.0.0"})
        assert created.status_code == 201
        location = created.headers["location"]
        for start in range(0, len(body), 100):  # pieces of 100 bytes
            piece = body[start:start + 100]
            patched = admin.patch(location, content=piece, headers={
                "Content-Type": "application/offset+octet-stream",
                "Upload-Offset": str(start), "Tus-Resumable": "1.0.0"})
            assert patched.status_code == 204, patched.text
            assert int(patched.headers["upload-offset"]) == start + len(piece)
        assert admin.head(location, headers={"Tus-Resumable": "1.0.0"}).status_code == 404
        keys = s3_server.keys(bucket)
        assert f"team/media/uploads/task-{task['id']}-data/files/a.png" in keys
        assert not [k for k in keys if "/state/tus-" in k]  # the pieces are joined and gone
        finished = admin.post(url, headers={"Upload-Finish": ""}, json={
            "image_quality": 70, "client_files": []})
        assert finished.status_code == 202
        frame = admin.get(f"/api/tasks/{task['id']}/data/",
                          params={"type": "frame", "number": 0, "quality": "original"})
        assert frame.content == body
        assert not [k for k in s3_server.keys(bucket) if "/uploads/" in k]

        guide = admin.post("/api/guides", json={"task_id": task["id"]}).json()
        asset = admin.post("/api/assets", data={"guide_id": str(guide["id"])},
                           files={"file": ("n.pdf", b"%PDF-1.4 tiny", "application/pdf")})
        assert asset.status_code == 201
        key = f"team/media/assets/{asset.json()['uuid']}/n.pdf"
        assert s3_server.get(bucket, key) == b"%PDF-1.4 tiny"
        answer = admin.get(f"/api/assets/{asset.json()['uuid']}")
        assert answer.content == b"%PDF-1.4 tiny"
        assert answer.headers["content-length"] == str(len(b"%PDF-1.4 tiny"))


def test_reset_removes_the_objects_made_since_start_up(s3_server: S3Server, aws: None,
                                                       tmp_path: Path) -> None:
    """Reset on S3 media: objects made after start-up go, the start-up state's come back
    (from ``reset-media/``) when a deleted object took them."""
    bucket = s3_server.make_bucket()
    seed = tmp_path / "seed"
    (seed / "media" / "1").mkdir(parents=True)
    (seed / "media" / "1" / "a.png").write_bytes(_png((9, 9, 9)))
    (seed / "tasks.json").write_text('[{"id": 1, "name": "seeded", "labels": [{"name": "x"}]}]')
    with MockCVATServer(data_dir=tmp_path / "data", seed=seed, media_url=f"s3://{bucket}",
                        media_endpoint=s3_server.endpoint) as server:
        at_start = s3_server.keys(bucket)
        assert any(k.startswith("media/data/") for k in at_start)
        assert any(k.startswith("reset-media/data/") for k in at_start)
        with token_client(server, *server.admin_credentials) as admin:
            task = admin.post("/api/tasks", json={"name": "new", "labels": [{"name": "y"}]})
            admin.post(f"/api/tasks/{task.json()['id']}/data/", data={"image_quality": "70"},
                       files={"client_files[0]": ("b.png", _png((1, 1, 1)))})
            assert admin.delete("/api/tasks/1").status_code == 204
        assert s3_server.keys(bucket) != at_start
        server.reset()
        assert s3_server.keys(bucket) == at_start
        with token_client(server, *server.admin_credentials) as admin:
            frame = admin.get("/api/tasks/1/data/",
                              params={"type": "frame", "number": 0, "quality": "original"})
            assert frame.status_code == 200
            assert frame.content == (seed / "media" / "1" / "a.png").read_bytes()


def test_media_store_of_settings(tmp_path: Path, aws: None, s3_server: S3Server) -> None:
    local = media_store(None, tmp_path)
    assert not local.remote and local.local_path("x") == tmp_path / "media" / "x"
    bucket = s3_server.make_bucket()
    remote = media_store(f"s3://{bucket}/p", tmp_path, endpoint=s3_server.endpoint)
    assert remote.remote and remote.check() is None
    remote.put("data/1/raw/v.mp4", b"video")
    assert s3_server.keys(bucket) == ["p/media/data/1/raw/v.mp4"]
    cached = remote.cached_file("data/1/raw/v.mp4")
    assert cached.read_bytes() == b"video" and cached.is_relative_to(tmp_path)
    remote.put("data/1/raw/v.mp4", b"other video")  # same key, new object: fetched again
    assert remote.cached_file("data/1/raw/v.mp4").read_bytes() == b"other video"
