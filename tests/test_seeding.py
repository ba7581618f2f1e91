"""State from files (issue 16): a seed written by hand, the seed -> dump -> seed round trip,
``mockcvat dump`` on a data dir, ``mockcvat snapshot`` of a second mockcvat standing in for a
real CVAT, reference errors, and reset back to the seed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from mockcvat.seeding import SeedError
from mockcvat.testing import MockCVATServer
from tests.conftest import NO_TLS, STRONG_PASSWORD, token_client
from tests.format_objects import api_shape
from tests.media_files import make_image, make_video

BIN = Path(sys.executable).parent / "mockcvat"
FIXTURE_MEDIA = Path(__file__).resolve().parent.parent / "fixtures" / "media"


def write(directory: Path, name: str, records: list) -> None:
    (directory / name).write_text(json.dumps(records))


def hand_written(directory: Path) -> Path:
    """What a test author writes: few fields, references by id or username, labels inline."""
    write(directory, "users.json", [
        {"id": 7, "username": "alice", "password": STRONG_PASSWORD, "email": "a@example.com",
         "date_joined": "2024-01-02T03:04:05Z"},
        {"id": 9, "username": "bob", "groups": ["worker"]}])
    write(directory, "organizations.json", [{"id": 3, "slug": "acme", "owner": {"id": 7}}])
    write(directory, "memberships.json", [{"user": {"id": 9}, "organization": 3,
                                           "role": "worker", "invitation": "k" * 20}])
    write(directory, "projects.json", [{"id": 11, "name": "cars", "owner": "alice",
                                        "organization": 3, "labels": [
                                            {"name": "car", "attributes": [
                                                {"name": "color", "input_type": "text",
                                                 "mutable": True, "values": [""]}]}]}])
    write(directory, "tasks.json", [
        {"id": 21, "name": "street", "project_id": 11, "owner": "alice", "organization": 3,
         "segment_size": 2, "created_date": "2024-02-03T04:05:06.123456Z"}])
    media = directory / "media" / "21"
    media.mkdir(parents=True)
    for image in FIXTURE_MEDIA.glob("*.png"):
        shutil.copy(image, media / image.name)
    return directory


def test_a_seed_written_by_hand(tmp_path):
    with MockCVATServer(seed=hand_written(tmp_path)) as server:
        with server.make_client(("alice", STRONG_PASSWORD)) as alice:
            alice.organization_slug = "acme"
            task = alice.tasks.retrieve(21)
            assert (task.name, task.size, task.mode, task.project_id) == (
                "street", 3, "annotation", 11)
            assert task.created_date.isoformat() == "2024-02-03T04:05:06.123456+00:00"
            assert sorted((j.start_frame, j.stop_frame) for j in task.get_jobs()) == [
                (0, 1), (2, 2)]
            assert [f.name for f in task.get_meta().frames] == [
                "blue-6x8.png", "green-8x6.png", "red-8x6.png"]
            assert task.get_frame(1, quality="original").read()[:4] == b"\x89PNG"
            labels = alice.projects.retrieve(11).get_labels()
            assert [(label.name, label.attributes[0].name) for label in labels] == [
                ("car", "color")]
        with server.make_client() as admin:
            users = {u.username: u for u in admin.users.list()}
            assert users["alice"].id == 7 and users["bob"].groups == ["worker"]
            assert users["admin"].id == 10  # the admin of the settings comes after the seed
            members = admin.api_client.memberships_api.list(org="acme")[0].results
            assert {(m.user.username, m.role) for m in members} == {
                ("alice", "owner"), ("bob", "worker")}
        # bob has no password in the seed: he cannot log in
        login = httpx.post(f"{server.url}/api/auth/login",
                           json={"username": "bob", "password": "anything"}, **NO_TLS)
        assert login.status_code == 400


def test_reset_returns_to_the_seed(tmp_path):
    with MockCVATServer(seed=hand_written(tmp_path)) as server:
        with server.make_client() as admin:
            admin.tasks.retrieve(21).remove()
            admin.projects.create({"name": "new", "labels": [{"name": "x"}]})
        server.reset()
        with server.make_client() as admin:
            assert [p.name for p in admin.projects.list()] == ["cars"]
            task = admin.tasks.retrieve(21)
            assert task.size == 3
            # the deleted task's media came back with it
            assert task.get_frame(2, quality="original").read()[:4] == b"\x89PNG"


def build_rich_state(server: MockCVATServer, tmp_path: Path) -> None:
    """Everything seeds cover, made through the API."""
    server.create_user("alice", STRONG_PASSWORD, first_name="Alice")
    server.create_organization("acme", "admin", {"alice": "supervisor"})
    with token_client(server, "admin", "admin") as admin:
        admin.headers["X-Organization"] = "acme"
        project = admin.post("/api/projects", json={"name": "p", "labels": [
            {"name": "car", "color": "#ff0000", "attributes": [
                {"name": "kind", "input_type": "select", "mutable": False,
                 "values": ["sedan", "van"], "default_value": "van"}]},
            {"name": "body", "type": "skeleton", "sublabels": [{"name": "head"},
                                                               {"name": "tail"}],
             "svg": '<circle data-label-name="head"/><circle data-label-name="tail"/>'},
        ]}).json()
        images = [make_image(tmp_path / "src" / f"{n:02d}.png", (16 + n, 12)) for n in range(5)]
        task = admin.post("/api/tasks", json={"name": "images", "project_id": project["id"],
                                              "segment_size": 3, "overlap": 1}).json()
        answer = admin.post(f"/api/tasks/{task['id']}/data/",
                            data={"image_quality": "80", "start_frame": "1",
                                  "frame_filter": "step=2"},
                            files=[(f"client_files[{i}]", (p.name, p.read_bytes(), "image/png"))
                                   for i, p in enumerate(images)])
        assert answer.status_code == 202, answer.text
        admin.headers.pop("X-Organization")
        own = admin.post("/api/tasks", json={"name": "video", "labels": [{"name": "person"}],
                                             "assignee_id": 1, "segment_size": 4}).json()
        video = make_video(tmp_path / "src" / "clip.mp4", frames=8)
        answer = admin.post(f"/api/tasks/{own['id']}/data/", data={"image_quality": "50"},
                            files={"client_files[0]": ("clip.mp4", video.read_bytes())})
        assert answer.status_code == 202, answer.text
        labels = {label["name"]: label for label in admin.get(
            "/api/labels", params={"project_id": project["id"]}).json()["results"]}
        jobs = admin.get("/api/jobs", params={"task_id": task["id"]}).json()["results"]
        first = min(jobs, key=lambda j: j["start_frame"])
        admin.patch(f"/api/jobs/{first['id']}", json={"assignee": 2, "stage": "validation"})
        car, body = labels["car"], labels["body"]
        head, tail = body["sublabels"]
        spec = car["attributes"][0]["id"]
        annotations = {
            "version": 0,
            "tags": [{"frame": 0, "label_id": car["id"], "group": 0, "source": "manual",
                      "attributes": [{"spec_id": spec, "value": "sedan"}]}],
            "shapes": [
                api_shape("rectangle", 0, car["id"], [1.0, 2.0, 5.0, 6.0],
                          attributes=[{"spec_id": spec, "value": "van"}]),
                api_shape("skeleton", 1, body["id"], [], elements=[
                    api_shape("points", 1, head["id"], [1.0, 1.0]),
                    api_shape("points", 1, tail["id"], [2.0, 2.0])]),
            ],
            "tracks": [{"frame": 0, "label_id": car["id"], "group": 0, "source": "manual",
                        "attributes": [{"spec_id": spec, "value": "van"}], "shapes": [
                            {"type": "rectangle", "frame": 0, "points": [0.0, 0.0, 2.0, 2.0],
                             "occluded": False, "outside": False, "z_order": 0,
                             "rotation": 0.0, "attributes": []},
                            {"type": "rectangle", "frame": 1, "points": [1.0, 1.0, 3.0, 3.0],
                             "occluded": False, "outside": True, "z_order": 0,
                             "rotation": 0.0, "attributes": []}], "elements": []}],
        }
        written = admin.put(f"/api/jobs/{first['id']}/annotations/", json=annotations)
        assert written.status_code == 200, written.text


def files_of(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): p.read_bytes().hex() if p.suffix != ".json"
            else p.read_text() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_seed_dump_seed_round_trip_is_identical(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    with MockCVATServer() as server:
        build_rich_state(server, tmp_path)
        server.dump(first, base_url="http://cvat.example")
    counts = {name: json.loads((first / name).read_text())["count"]
              for name in ("users.json", "organizations.json", "memberships.json",
                           "projects.json", "tasks.json", "labels.json", "data.json",
                           "jobs.json", "annotations.json")}
    assert counts == {"users.json": 2, "organizations.json": 1, "memberships.json": 2,
                      "projects.json": 1, "tasks.json": 2, "labels.json": 3, "data.json": 2,
                      "jobs.json": 4, "annotations.json": 1}
    assert sorted(p.name for p in (first / "media" / "2").iterdir()) == ["clip.mp4"]
    with MockCVATServer(seed=first) as server:
        server.dump(second, base_url="http://cvat.example")
        with server.make_client(("alice", STRONG_PASSWORD)) as alice:  # passwords kept
            assert alice.users.retrieve_current_user().first_name == "Alice"
        with server.make_client() as admin:
            meta = admin.tasks.retrieve(1).get_meta()
            assert [f.name for f in meta.frames] == ["01.png", "03.png"]
            assert (meta.start_frame, meta.stop_frame, meta.frame_filter) == (1, 3, "step=2")
            frame = admin.tasks.retrieve(2).get_frame(7, quality="original")
            assert frame.read()[:3] in (b"\xff\xd8\xff", b"\x89PN")
    assert files_of(first) == files_of(second)


def test_references_are_checked(tmp_path):
    write(tmp_path, "users.json", [{"id": 1, "username": "alice"}])
    write(tmp_path, "projects.json", [{"id": 5, "name": "p", "owner": {"id": 2}}])
    with pytest.raises(SeedError, match=r"projects.json\[0\] \(id 5\): owner: 2 is not in "
                                        r"users.json"):
        MockCVATServer(seed=tmp_path).start()
    write(tmp_path, "projects.json", [])
    write(tmp_path, "tasks.json", [{"id": 1, "name": "t", "project_id": 4}])
    with pytest.raises(SeedError, match=r"tasks.json\[0\] \(id 1\): project_id: 4 is not in "
                                        r"projects.json"):
        MockCVATServer(seed=tmp_path).start()
    write(tmp_path, "tasks.json", [{"id": 1, "name": "t", "labels": [{"name": "a"}]}])
    write(tmp_path, "jobs.json", [{"id": 1, "task_id": 1, "start_frame": 0, "stop_frame": 0}])
    with pytest.raises(SeedError, match=r"jobs.json\[0\] \(id 1\): task 1 has no data"):
        MockCVATServer(seed=tmp_path).start()
    (tmp_path / "jobs.json").unlink()
    write(tmp_path, "annotations.json", [{"job_id": 3, "shapes": []}])
    with pytest.raises(SeedError, match=r"annotations.json\[0\]: job_id: 3 is not in jobs.json"):
        MockCVATServer(seed=tmp_path).start()
    (tmp_path / "annotations.json").unlink()
    write(tmp_path, "tasks.jsn", [])
    (tmp_path / "task.json").write_text("[]")
    with pytest.raises(SeedError, match="unknown seed file task.json"):
        MockCVATServer(seed=tmp_path).start()


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, timeout=120)


def test_serve_with_a_bad_seed_is_one_line(tmp_path):
    write(tmp_path, "users.json", [{"id": 1}])
    result = run("serve", "--seed", str(tmp_path), "--database-url", "sqlite://",
                 "--data-dir", str(tmp_path / "data"), "--port", "0")
    assert result.returncode == 2
    assert result.stderr == ("mockcvat: error: --seed (MOCKCVAT_SEED): users.json[0] (id 1): "
                             "username is required\n")


def test_snapshot_of_another_server_then_seeded(tmp_path):
    """A second mockcvat stands in for a real CVAT: ``mockcvat snapshot`` reads it through
    its API; the files equal what ``dump`` writes of the same state, but for passwords."""
    snapshot, dumped = tmp_path / "snapshot", tmp_path / "dumped"
    with MockCVATServer() as real:
        build_rich_state(real, tmp_path)
        result = run("snapshot", "--from", real.url, "--auth", "admin:admin", "--media",
                     str(snapshot))
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(f"mockcvat: wrote {snapshot}: 2 users, 1 organizations")
        real.dump(dumped)
    for name in sorted(p.name for p in dumped.glob("*.json")):
        got, want = json.loads((snapshot / name).read_text()), json.loads(
            (dumped / name).read_text())
        if name == "users.json":
            for user in want["results"]:
                user.pop("password_hash")
            for user in got["results"]:  # logging in (the snapshot's login) sets last_login
                user["last_login"] = None
            for user in want["results"]:
                user["last_login"] = None
        assert got == want, name
    assert files_of(snapshot / "media") == files_of(dumped / "media")
    with MockCVATServer(seed=snapshot) as mock:
        with mock.make_client() as admin:
            assert {t.name: t.size for t in admin.tasks.list()} == {"images": 2, "video": 8}
            job = min(admin.jobs.list(), key=lambda j: (j.task_id, j.start_frame))
            assert len(job.get_annotations().shapes) == 2


def test_dump_command_reads_a_data_dir_without_changing_it(tmp_path):
    data = tmp_path / "data"
    from mockcvat.settings import Settings

    with MockCVATServer(Settings(data_dir=data, port=0, background_mode="immediate")) as server:
        server.create_user("alice", STRONG_PASSWORD)
        with server.make_client() as admin:
            admin.projects.create({"name": "p", "labels": [{"name": "car"}]})
        before = (data / "mockcvat.sqlite3").read_bytes()
        result = run("dump", str(tmp_path / "out"), "--data-dir", str(data))
        assert result.returncode == 0, result.stderr
        assert (data / "mockcvat.sqlite3").read_bytes() == before
    projects = json.loads((tmp_path / "out" / "projects.json").read_text())["results"]
    assert [p["name"] for p in projects] == ["p"]
    assert projects[0]["url"] == "http://127.0.0.1:8080/api/projects/1"
    empty = run("dump", str(tmp_path / "out2"), "--data-dir", str(tmp_path / "nothing"))
    assert empty.returncode == 2 and empty.stderr.startswith(
        "mockcvat: error: --data-dir (MOCKCVAT_DATA_DIR): ") and "holds no state" in empty.stderr
