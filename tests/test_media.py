"""Unit tests of the pure media layer (mockcvat.media): media generated in the tests."""

from __future__ import annotations

import io
import json
import tarfile
import threading
import zipfile
from pathlib import Path

import av
import pytest
from PIL import Image

from mockcvat.media import (
    FrameStore,
    Manifest,
    MediaError,
    default_chunk_size,
    prepare,
    sources,
)
from tests.media_files import VIDEO_FRAMES, make_image, make_video


def red(image_bytes: bytes) -> int:
    with Image.open(io.BytesIO(image_bytes)) as img:
        return img.convert("RGB").getpixel((5, 5))[0]


def frame_index(red_value: int) -> int:
    return round(red_value / 12)


def zip_members(body: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        return [(name, zf.read(name)) for name in zf.namelist()]


def decode(body: bytes) -> list[av.VideoFrame]:
    with av.open(io.BytesIO(body)) as container:
        return list(container.decode(video=0))


@pytest.fixture
def upload(tmp_path: Path) -> Path:
    (tmp_path / "upload").mkdir()
    return tmp_path / "upload"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture(scope="module")
def video_task(tmp_path_factory) -> tuple[Path, Manifest]:
    root = tmp_path_factory.mktemp("video")
    (root / "upload").mkdir()
    make_video(root / "upload" / "clip.mp4")
    manifest = prepare(root / "upload", ["clip.mp4"], root / "data", start_frame=1,
                       frame_step=2, stop_frame=17)
    return root / "data", manifest


# ---- detection and mixing ----------------------------------------------------------------


def test_mixed_media_error_matches_cvat(upload, data_dir):
    make_image(upload / "a.png", (8, 8))
    make_video(upload / "b.mp4", frames=2)
    with pytest.raises(MediaError) as err:
        prepare(upload, ["a.png", "b.mp4"], data_dir)
    assert str(err.value) == (
        "Only one video, archive, pdf, zip or many image, directory can be used simultaneously,"
        "             but 1 image(s), 1 video(s), 0 archive(s), 0 directory(s), 0 pdf(s), "
        "0 zip(s) found.")
    assert err.value.cvat_type == "ValueError"


def test_two_videos_are_refused(upload, data_dir):
    make_video(upload / "a.mp4", frames=2)
    make_video(upload / "b.mp4", frames=2)
    with pytest.raises(MediaError, match=r"but 0 image\(s\), 2 video\(s\)"):
        prepare(upload, ["a.mp4", "b.mp4"], data_dir)


def test_no_media_and_unsupported_files(upload, data_dir):
    (upload / "notes.txt").write_text("hello")
    with pytest.raises(MediaError, match="^No media data found$"):
        prepare(upload, ["notes.txt"], data_dir)
    # Next to media, CVAT skips files it doesn't recognise instead of failing
    make_image(upload / "a.png", (8, 8))
    manifest = prepare(upload, ["notes.txt", "a.png"], data_dir)
    assert [f.name for f in manifest.frames] == ["a.png"]
    assert manifest.skipped_files == ["notes.txt"]


def test_classify_follows_cvat_mime_rules():
    assert [sources.classify(n) for n in ["a.JPG", "b.mkv", "c.tar.gz", "d.tgz", "e.zip",
                                          "f.pdf", "g.svg", "h.txt"]] == \
        ["image", "video", "archive", "archive", "zip", "pdf", None, None]


def test_corrupt_image_is_named(upload, data_dir):
    make_image(upload / "ok.png", (8, 8))
    (upload / "bad.jpg").write_bytes(b"definitely not a jpeg")
    with pytest.raises(MediaError, match=r"^cannot identify image file 'bad\.jpg'$"):
        prepare(upload, ["ok.png", "bad.jpg"], data_dir)


def test_broken_png_is_named(upload, data_dir):
    png = make_image(upload / "broken.png", (16, 16)).read_bytes()
    (upload / "broken.png").write_bytes(png[:40] + b"\0" * 8 + png[48:])  # corrupt a chunk CRC
    with pytest.raises(MediaError, match="broken.png"):
        prepare(upload, ["broken.png"], data_dir)


# ---- images: order, names, sizes ---------------------------------------------------------

NAMES = ["img10.png", "img2.png", "IMG3.png", "sub/img1.png"]


@pytest.fixture
def named_images(upload) -> list[str]:
    for i, name in enumerate(NAMES):
        make_image(upload / name, (20 + i, 10 + i))
    return NAMES


@pytest.mark.parametrize(("method", "expected"), [
    ("lexicographical", ["IMG3.png", "img10.png", "img2.png", "sub/img1.png"]),
    ("natural", ["img2.png", "IMG3.png", "img10.png", "sub/img1.png"]),
    ("predefined", NAMES),
])
def test_sorting_methods(upload, data_dir, named_images, method, expected):
    manifest = prepare(upload, named_images, data_dir, sorting_method=method)
    assert [f.name for f in manifest.frames] == expected
    sizes = {name: (20 + i, 10 + i) for i, name in enumerate(NAMES)}
    assert [(f.width, f.height) for f in manifest.frames] == [sizes[n] for n in expected]
    assert manifest.source_frames == [0, 1, 2, 3]
    assert manifest.media_type == "imageset"


def test_natural_key_compares_numbers_and_directories():
    # As natsort's PATH mode: directory "a" sorts before file "a1", case is ignored
    names = ["b/2.png", "a10.png", "a9.png", "a/10.png", "a/9.png", "A1.png"]
    assert sorted(names, key=sources.natural_key) == \
        ["a/9.png", "a/10.png", "A1.png", "a9.png", "a10.png", "b/2.png"]


def test_random_sorting_is_seeded(upload, named_images, tmp_path):
    runs = [[f.name for f in prepare(upload, named_images, tmp_path / f"d{i}",
                                     sorting_method="random", random_seed=seed).frames]
            for i, seed in enumerate([7, 7, 8, 9, 10])]
    assert runs[0] == runs[1]
    assert all(sorted(run) == sorted(NAMES) for run in runs)
    assert len({tuple(run) for run in runs}) > 1


def test_predefined_upload_file_order(upload, data_dir, named_images):
    order = ["sub/img1.png", "img2.png", "IMG3.png", "img10.png"]
    manifest = prepare(upload, named_images, data_dir, sorting_method="predefined",
                       upload_file_order=order)
    assert [f.name for f in manifest.frames] == order
    with pytest.raises(MediaError) as err:
        prepare(upload, named_images, data_dir, sorting_method="predefined",
                upload_file_order=["img2.png", "IMG3.png", "img10.png", "other.png"])
    assert str(err.value) == (
        "Uploaded files do not match the 'upload_file_order' field contents. Please check the "
        "uploaded data and the list of uploaded files. Mismatching files: "
        "other.png (missing), sub/img1.png (extra)")


def test_start_stop_step(upload, data_dir):
    names = [f"f{i:02d}.png" for i in range(10)]
    for name in names:
        make_image(upload / name, (8, 6))
    manifest = prepare(upload, names, data_dir, start_frame=2, stop_frame=8, frame_step=3)
    assert manifest.source_frames == [2, 5, 8]
    assert [f.name for f in manifest.frames] == ["f02.png", "f05.png", "f08.png"]
    assert (manifest.start_frame, manifest.stop_frame, manifest.frame_step) == (2, 8, 3)

    # stop past the data is capped; the reported stop is the last frame really included
    manifest = prepare(upload, names, data_dir, start_frame=1, stop_frame=99, frame_step=4)
    assert manifest.source_frames == [1, 5, 9]
    assert manifest.stop_frame == 9
    # stop_frame 0 means "to the end" in CVAT
    assert prepare(upload, names, data_dir, stop_frame=0, frame_step=5).source_frames == [0, 5]

    with pytest.raises(MediaError, match="start frame 10 is beyond the data: it has 10"):
        prepare(upload, names, data_dir, start_frame=10)
    with pytest.raises(MediaError, match="^Stop frame must be more or equal start frame$"):
        prepare(upload, names, data_dir, start_frame=5, stop_frame=3)


def test_progress_is_reported(upload, data_dir):
    for i in range(4):
        make_image(upload / f"{i}.png", (8, 8))
    seen: list[float] = []
    prepare(upload, [f"{i}.png" for i in range(4)], data_dir, progress=seen.append)
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen) and len(seen) >= 4


def test_default_chunk_size_formula(upload, data_dir):
    assert default_chunk_size(64, 48) == 72
    assert default_chunk_size(1920, 1080) == 36
    assert default_chunk_size(4000, 3000) == 6
    assert default_chunk_size(20000, 20000) == 2
    make_image(upload / "a.png", (1920, 1080))
    assert prepare(upload, ["a.png"], data_dir).chunk_size == 36
    assert prepare(upload, ["a.png"], data_dir, chunk_size=5).chunk_size == 5


def test_exif_rotation_swaps_size(upload, data_dir):
    exif = Image.Exif()
    exif[274] = 6  # rotated 90 degrees
    make_image(upload / "r.jpg", (40, 20), exif=exif)
    manifest = prepare(upload, ["r.jpg"], data_dir)
    assert (manifest.frames[0].width, manifest.frames[0].height) == (20, 40)
    body, mime = FrameStore(data_dir).frame(0, "original")
    assert mime == "image/jpeg"
    assert Image.open(io.BytesIO(body)).size == (20, 40)  # stored upright, as CVAT does


# ---- archives ----------------------------------------------------------------------------


def png_bytes(size=(8, 8)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 0, 0)).save(buf, format="PNG")
    return buf.getvalue()


def test_zip_archive_is_extracted(upload, data_dir):
    (upload / "sets").mkdir()
    with zipfile.ZipFile(upload / "sets" / "data.zip", "w") as zf:
        zf.writestr("b/2.png", png_bytes((5, 6)))
        zf.writestr("a.png", png_bytes((7, 8)))
        zf.writestr("readme.txt", "not an image")
        zf.writestr("__MACOSX/._a.png", b"resource fork")
    manifest = prepare(upload, ["sets/data.zip"], data_dir)
    assert [(f.name, f.width, f.height) for f in manifest.frames] == \
        [("sets/a.png", 7, 8), ("sets/b/2.png", 5, 6)]
    body, _ = FrameStore(data_dir).frame(1, "original")
    assert body == png_bytes((5, 6))


def test_tar_gz_archive_is_extracted(upload, data_dir):
    with tarfile.open(upload / "data.tar.gz", "w:gz") as tf:
        for name, size in [("x/2.png", (4, 4)), ("x/10.png", (6, 6))]:
            data = png_bytes(size)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    manifest = prepare(upload, ["data.tar.gz"], data_dir, sorting_method="natural")
    assert [f.name for f in manifest.frames] == ["x/2.png", "x/10.png"]


@pytest.mark.parametrize("member", ["../evil.png", "/abs.png", "ok/../../evil.png"])
def test_zip_slip_is_refused(upload, data_dir, tmp_path, member):
    with zipfile.ZipFile(upload / "data.zip", "w") as zf:
        zf.writestr("good.png", png_bytes())
        zf.writestr(member, png_bytes())
    with pytest.raises(MediaError) as err:
        prepare(upload, ["data.zip"], data_dir)
    assert str(err.value) == f"The archive 'data.zip' contains an unsafe path: '{member}'"
    assert not (tmp_path / "evil.png").exists() and not (data_dir / "evil.png").exists()
    assert not (data_dir / "raw" / "good.png").exists()  # checked before anything is written


def test_tar_links_and_traversal_are_refused(upload, data_dir):
    with tarfile.open(upload / "links.tar", "w") as tf:
        link = tarfile.TarInfo("link.png")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tf.addfile(link)
    with pytest.raises(MediaError, match="contains a link, which is not allowed: 'link.png'"):
        prepare(upload, ["links.tar"], data_dir)
    with tarfile.open(upload / "up.tar", "w") as tf:
        info = tarfile.TarInfo("../up.png")
        info.size = 3
        tf.addfile(info, io.BytesIO(b"abc"))
    with pytest.raises(MediaError, match=r"unsafe path: '\.\./up\.png'"):
        prepare(upload, ["up.tar"], data_dir)


def test_zip_bomb_limits(upload, data_dir, monkeypatch):
    with zipfile.ZipFile(upload / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.png", b"\0" * 200_000)  # compresses to a few hundred bytes
        zf.writestr("more.png", b"\0" * 10)
    monkeypatch.setattr(sources, "MAX_ARCHIVE_BYTES", 100_000)
    with pytest.raises(MediaError, match="'bomb.zip' is too large when extracted: the limit "
                                         "is 100000 bytes"):
        prepare(upload, ["bomb.zip"], data_dir)
    monkeypatch.setattr(sources, "MAX_ARCHIVE_MEMBERS", 1)
    with pytest.raises(MediaError, match="'bomb.zip' has too many files: the limit is 1"):
        prepare(upload, ["bomb.zip"], data_dir)


def test_zip_with_predefined_sorting_needs_a_manifest(upload, data_dir):
    with zipfile.ZipFile(upload / "data.zip", "w") as zf:
        for name in ["b.png", "a.png", "c.png"]:
            zf.writestr(name, png_bytes())
    with pytest.raises(MediaError, match="^Can't find upload manifest file 'manifest.jsonl'"):
        prepare(upload, ["data.zip"], data_dir, sorting_method="predefined")
    lines = [{"version": "1.1"}, {"type": "images"}] + [
        {"name": n, "extension": ".png", "width": 8, "height": 8} for n in ["c", "a", "b"]]
    (upload / "manifest.jsonl").write_text("\n".join(json.dumps(x) for x in lines))
    manifest = prepare(upload, ["data.zip", "manifest.jsonl"], data_dir,
                       sorting_method="predefined")
    assert [f.name for f in manifest.frames] == ["c.png", "a.png", "b.png"]


def test_upload_paths_outside_the_root_are_refused(upload, data_dir, tmp_path):
    make_image(tmp_path / "outside.png", (8, 8))
    with pytest.raises(MediaError, match="Unsafe file path"):
        prepare(upload, ["../outside.png"], data_dir)
    (upload / "link.png").symlink_to(tmp_path / "outside.png")
    with pytest.raises(MediaError, match="Unsafe file path: 'link.png'"):
        prepare(upload, ["link.png"], data_dir)
    with pytest.raises(MediaError, match="'gone.png' is missing from the uploaded files"):
        prepare(upload, ["gone.png"], data_dir)


# ---- chunks, frames, previews: images ----------------------------------------------------


@pytest.fixture
def image_task(upload, data_dir) -> FrameStore:
    sizes = [(30, 20), (20, 30), (64, 48), (10, 10), (50, 25)]
    for i, size in enumerate(sizes):
        make_image(upload / f"{i}.png", size, color=(12 * i, 50, 50))
    make_image(upload / "5.jpg", (40, 30), color=(60, 50, 50), quality=95)
    prepare(upload, [f"{i}.png" for i in range(5)] + ["5.jpg"], data_dir, chunk_size=4)
    return FrameStore(data_dir)


def test_image_chunks(image_task, upload):
    body, mime = image_task.chunk(1, 6, "original")
    assert mime == "application/zip"
    members = zip_members(body)
    assert [n for n, _ in members] == ["000000.png", "000001.png", "000002.png", "000003.png",
                                       "000004.jpg"]
    assert [data for _, data in members] == \
        [(upload / n).read_bytes() for n in ["1.png", "2.png", "3.png", "4.png", "5.jpg"]]

    body, mime = image_task.chunk(1, 6, "compressed", image_quality=50)
    members = zip_members(body)
    assert [n for n, _ in members] == [f"{i:06d}.jpeg" for i in range(5)]
    sizes = [(20, 30), (64, 48), (10, 10), (50, 25), (40, 30)]
    for (_, data), size, index in zip(members, sizes, range(1, 6), strict=True):
        with Image.open(io.BytesIO(data)) as img:
            assert (img.format, img.size) == ("JPEG", size)
        assert abs(red(data) - 12 * index) <= 3
    low = image_task.chunk(0, 6, "compressed", image_quality=5)[0]
    high = image_task.chunk(0, 6, "compressed", image_quality=95)[0]
    assert low != high


def test_chunk_number_and_frame_validation(image_task):
    assert len(zip_members(image_task.chunk_number(1, "original")[0])) == 2  # frames 4 and 5
    with pytest.raises(MediaError, match=r"^Invalid chunk number '2'\. The chunk number should "
                                         r"be in the \[0, 1\] range$"):
        image_task.chunk_number(2, "original")
    with pytest.raises(MediaError, match=r"^Invalid frame '6'\. The frame number should be in "
                                         r"the \[0, 6\] range$"):
        image_task.frame(6, "compressed")
    with pytest.raises(MediaError, match="Unknown quality"):
        image_task.frame(0, "best")


def test_image_frames_and_preview(image_task, upload):
    body, mime = image_task.frame(5, "original")
    assert (body, mime) == ((upload / "5.jpg").read_bytes(), "image/jpeg")
    assert image_task.frame(2, "original") == ((upload / "2.png").read_bytes(), "image/png")
    body, mime = image_task.frame(2, "compressed")
    assert mime == "image/jpeg"
    assert Image.open(io.BytesIO(body)).size == (64, 48)
    assert body == zip_members(image_task.chunk(0, 4, "compressed")[0])[2][1]

    preview = image_task.preview()
    with Image.open(io.BytesIO(preview)) as img:
        assert (img.format, img.size) == ("JPEG", (30, 20))  # small frames aren't enlarged


def test_preview_fits_256(upload, data_dir):
    make_image(upload / "wide.png", (600, 300))
    prepare(upload, ["wide.png"], data_dir)
    with Image.open(io.BytesIO(FrameStore(data_dir).preview())) as img:
        assert (img.format, img.size) == ("JPEG", (256, 128))


def test_results_are_cached_and_thread_safe(image_task, data_dir):
    results = []

    def work():
        results.append(image_task.chunk(0, 4, "compressed", image_quality=33))

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 6 and len(set(results)) == 1
    cached = list((data_dir / "cache").glob("chunk-0-4-compressed-q33*"))
    assert len(cached) == 1 and cached[0].read_bytes() == results[0][0]
    assert not list((data_dir / "cache").glob(".*tmp"))
    # A new store over the same directory serves the cached file
    assert FrameStore(data_dir).chunk(0, 4, "compressed", image_quality=33) == results[0]


def test_manifest_json_round_trip(image_task):
    m = image_task.manifest
    assert Manifest.from_json(json.loads(json.dumps(m.to_json()))) == m


def test_context_images(upload, data_dir):
    make_image(upload / "s" / "001.png", (20, 10))
    make_image(upload / "s" / "002.png", (20, 10))
    make_image(upload / "s" / "related_images" / "001_png" / "left.png", (8, 8))
    make_image(upload / "s" / "related_images" / "001_png" / "right.jpg", (6, 6))
    files = ["s/001.png", "s/002.png", "s/related_images/001_png/left.png",
             "s/related_images/001_png/right.jpg"]
    manifest = prepare(upload, files, data_dir)
    assert [(f.name, f.related_files) for f in manifest.frames] == \
        [("s/001.png", 2), ("s/002.png", 0)]
    store = FrameStore(data_dir)
    members = zip_members(store.context_images(0))
    assert [n for n, _ in members] == ["left.png.jpg", "right.jpg.jpg"]
    assert Image.open(io.BytesIO(members[0][1])).size == (8, 8)
    assert store.context_images(1) is None


# ---- video -------------------------------------------------------------------------------


def test_video_prepare(video_task):
    data_dir, manifest = video_task
    assert FrameStore(data_dir).manifest == manifest
    assert len(json.loads((data_dir / "manifest.json").read_text())["frames"]) == 1
    assert manifest.media_type == "video"
    assert manifest.video_frame_count == VIDEO_FRAMES
    assert manifest.source_frames == [1, 3, 5, 7, 9, 11, 13, 15, 17]
    assert (manifest.start_frame, manifest.stop_frame, manifest.frame_step) == (1, 17, 2)
    assert {(f.name, f.width, f.height) for f in manifest.frames} == {("clip.mp4", 64, 48)}
    assert manifest.chunk_size == 36


def test_video_start_beyond_data(upload, data_dir):
    make_video(upload / "v.mp4", frames=5)
    with pytest.raises(MediaError, match="start frame 5 is beyond the data: it has 5"):
        prepare(upload, ["v.mp4"], data_dir, start_frame=5)
    manifest = prepare(upload, ["v.mp4"], data_dir, use_zip_chunks=True)
    assert manifest.chunk_size == 72  # zip chunks are sized by frame area, like images


@pytest.mark.parametrize("quality", ["original", "compressed"])
def test_video_chunks_decode(video_task, quality):
    store = FrameStore(video_task[0])
    body, mime = store.chunk(2, 7, quality)
    assert mime == "video/mp4"
    frames = decode(body)
    assert [(f.width, f.height) for f in frames] == [(64, 48)] * 5
    # Task frames 2..6 are source frames 5, 7, 9, 11, 13
    assert [frame_index(f.to_image().getpixel((5, 5))[0]) for f in frames] == [5, 7, 9, 11, 13]


def test_video_zip_chunks_and_frames(video_task):
    store = FrameStore(video_task[0])
    body, mime = store.chunk(0, 3, "compressed", as_zip=True)
    assert mime == "application/zip"
    members = zip_members(body)
    assert [n for n, _ in members] == ["000000.jpeg", "000001.jpeg", "000002.jpeg"]
    assert [frame_index(red(data)) for _, data in members] == [1, 3, 5]
    # use_zip_chunks affects compressed chunks only: originals stay mp4, as in CVAT
    assert store.chunk(0, 3, "original", as_zip=True)[1] == "video/mp4"

    for quality in ("original", "compressed"):
        body, mime = store.frame(8, quality)
        assert mime == "image/png"
        assert Image.open(io.BytesIO(body)).size == (64, 48)
        assert frame_index(red(body)) == 17
    body, mime = store.frame(4, "compressed", as_zip=True)
    assert mime == "image/jpeg" and frame_index(red(body)) == 9

    with Image.open(io.BytesIO(store.preview())) as img:
        assert (img.format, img.size) == ("JPEG", (64, 48))
