"""PDF documents (pages as frames) and 7z archives as task data, through the real cvat-sdk:
the frames CVAT would make, their chunks, and broken files failing the request."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import py7zr
import pytest
from cvat_sdk.core.exceptions import BackgroundRequestException
from PIL import Image

from mockcvat.media import documents
from tests.media_files import make_image

LABELS = [{"name": "car"}]


def make_pdf(path: Path, pages: int) -> Path:
    """A PDF of ``pages`` pages (Pillow's writer), each 144x72 points, a different grey each."""
    images = [Image.new("RGB", (144, 72), (40 * i, 40 * i, 40 * i)) for i in range(pages)]
    images[0].save(path, format="PDF", save_all=True, append_images=images[1:], resolution=72)
    return path


def test_pdf_pages_become_jpeg_frames(cvat_client, tmp_path):
    pdf = make_pdf(tmp_path / "doc.pdf", 3)
    task = cvat_client.tasks.create_from_data({"name": "pdf", "labels": LABELS},
                                              resources=[str(pdf)])
    meta = task.get_meta()
    assert meta.size == 3
    # pdf2image's names (CVAT: "<stem><page:09d>.jpeg") and 200 dpi: 144 pt → 400 px
    assert [(f.name, f.width, f.height) for f in meta.frames] == [
        (f"doc{i:09d}.jpeg", 400, 200) for i in range(3)]
    chunk = zipfile.ZipFile(io.BytesIO(task.api.retrieve_data(
        task.id, type="chunk", number=0, quality="original", _parse_response=False)[1].data))
    assert chunk.namelist() == ["000000.jpeg", "000001.jpeg", "000002.jpeg"]
    with Image.open(io.BytesIO(chunk.read("000002.jpeg"))) as page:
        assert page.format == "JPEG" and page.size == (400, 200)
        assert abs(page.getpixel((200, 100))[0] - 80) <= 3


def test_pdf_stop_frame_limits_the_pages(cvat_client, tmp_path):
    pdf = make_pdf(tmp_path / "sub.pdf", 4)
    task = cvat_client.tasks.create_from_data({"name": "pdf", "labels": LABELS},
                                              resources=[str(pdf)],
                                              data_params={"stop_frame": 1})
    assert [f.name for f in task.get_meta().frames] == ["sub000000000.jpeg", "sub000000001.jpeg"]


def test_a_broken_pdf_fails_the_request(cvat_client, tmp_path):
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 not really")
    with pytest.raises(BackgroundRequestException, match="Unable to get page count"):
        cvat_client.tasks.create_from_data({"name": "bad", "labels": LABELS},
                                           resources=[str(broken)])


def test_7z_archive_of_images(cvat_client, tmp_path):
    for i in range(3):
        make_image(tmp_path / "src" / "set" / f"img{i}.png", (32, 24))
    archive = tmp_path / "images.7z"
    with py7zr.SevenZipFile(archive, "w") as out:
        out.writeall(tmp_path / "src" / "set", arcname="set")
    task = cvat_client.tasks.create_from_data({"name": "7z", "labels": LABELS},
                                              resources=[str(archive)])
    assert [f.name for f in task.get_meta().frames] == [
        "set/img0.png", "set/img1.png", "set/img2.png"]


def test_a_corrupt_7z_fails_the_request(cvat_client, tmp_path):
    archive = tmp_path / "bad.7z"
    archive.write_bytes(b"7z\xbc\xaf\x27\x1c" + b"\x00" * 40)
    with pytest.raises(BackgroundRequestException, match="bad.7z"):
        cvat_client.tasks.create_from_data({"name": "7z", "labels": LABELS},
                                           resources=[str(archive)])


def test_page_names() -> None:
    assert documents.page_name("a/b/scan.pdf", 12) == "a/b/scan000000012.jpeg"
