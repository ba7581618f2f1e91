"""What the uploaded files are: media type detection, CVAT's mixing rules, safe archive
extraction, frame ordering and context images. No decoding happens here."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import tarfile
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath
from typing import IO

from .model import MediaError

# Extensions CVAT's mimetypes database (Python's defaults + cvat/apps/engine/media.mimetypes)
# maps to image/* and video/*. SVG is excluded by CVAT; .pcd/.bin (point clouds) are 3D data.
IMAGE_EXTS = frozenset("""
    jpg jpeg jpe png bmp gif tif tiff webp ico ief ras pnm pbm pgm ppm rgb xbm xpm xwd heic heif
    avif jp2 jpf jpx jng mrw sgi wbmp bmq ora fff sk1 orf djv djvu hdr fig dng sr2 pntg srf lbm
    ilbm iff ag pict pict1 pict2 pct sun wmf fits dwg dxf g3 nef hrd epsf epsi eps pef
    raf raw lwob lwo lws rdc pic cgm rp sk pnx tga tpic vda icb vst rle arw psd xcf cr2 emf cs1
    cs2 crw kdc cur rw2 erf mdc mdi 3ds exr qtif qif icns x3f bay k25 msod dcr mos dds
""".split())
POINT_CLOUD_EXTS = frozenset({"pcd", "bin"})
VIDEO_EXTS = frozenset("""
    mp4 m4v f4v lrv mov qt qtvr moov avi divx avf webm mkv mk3d mpeg mpg mpe mp2 m1v mpa vob
    mts m2ts m2t ts mpls bdm bdmv clpi cpi mpl flc fli 3gp 3gpp 3ga 3g2 3gp2 3gpp2 flv movie wmp
    wmv dv vivo viv fxm rv rvx nsv axv ogg ogv ogm mng mxu m1u m4u mxf
""".split())
ARCHIVE_EXTS = frozenset({"tar", "gtar", "7z", "cpio", "bz"})  # CVAT's "archive" mime types
_SUFFIX_MAP = {".tgz": ".tar.gz", ".taz": ".tar.gz", ".tz": ".tar.gz",
               ".tbz2": ".tar.bz2", ".txz": ".tar.xz"}
_ENCODINGS = frozenset({".gz", ".bz2", ".xz", ".br"})

# CVAT's MEDIA_TYPES: order and "unique" flags drive the mixing rule and its message
MEDIA_KINDS = {"image": False, "video": True, "archive": True, "directory": False,
               "pdf": True, "zip": True}

IGNORED_PARTS = ("__MSOSX", "._.DS_Store", "__MACOSX", ".DS_Store")  # CVAT's files_to_ignore
MAX_ARCHIVE_MEMBERS = 100_000
MAX_ARCHIVE_BYTES = 4 * 1024**3

MANIFEST_NAME = "manifest.jsonl"
MANIFEST_DOCS = "https://docs.cvat.ai/docs/manual/advanced/dataset_manifest/"
_RELATED_RE = re.compile(r"(^|/)related_images/")


def classify(name: str) -> str | None:
    """CVAT's get_mime(): the media kind of a file from its name, None if not media."""
    base, ext = os.path.splitext(name)
    if ext.lower() in _SUFFIX_MAP:
        base, ext = os.path.splitext(base + _SUFFIX_MAP[ext.lower()])
    if ext.lower() in _ENCODINGS:  # like mimetypes: "x.tar.gz" is a tar with gzip encoding
        base, ext = os.path.splitext(base)
    ext = ext.lower().lstrip(".")
    if ext in IMAGE_EXTS or ext in POINT_CLOUD_EXTS:
        return "image"
    if ext in VIDEO_EXTS:
        return "video"
    if ext in ARCHIVE_EXTS:
        return "archive"
    if ext == "pdf":
        return "pdf"
    if ext == "zip":
        return "zip"
    return None


def is_image_name(name: str) -> bool:
    return classify(name) == "image"


def is_ignored(name: str) -> bool:
    return any(part in name for part in IGNORED_PARTS)


def count_media(files: Sequence[str]) -> tuple[dict[str, list[str]], list[str]]:
    """Groups files by media kind (CVAT's _count_files). Manifests and other files are
    returned separately: CVAT skips non-media files with a log warning, not an error."""
    counter: dict[str, list[str]] = {kind: [] for kind in MEDIA_KINDS}
    skipped = []
    for name in files:
        kind = classify(name)
        if kind is not None:
            counter[kind].append(name)
        elif not name.endswith(".jsonl"):
            skipped.append(name)
    return counter, skipped


def validate_media_mix(counter: dict[str, list[str]]) -> str:
    """CVAT's _validate_data(): one unique-kind file, or any number of images. Returns the kind."""
    unique = sum(len(v) for k, v in counter.items() if MEDIA_KINDS[k])
    multiple = sum(len(v) for k, v in counter.items() if not MEDIA_KINDS[k])
    if unique > 1 or (unique == 1 and multiple > 0):
        counts = ", ".join(f"{len(v)} {k}(s)" for k, v in counter.items())
        # The odd spacing is CVAT's: a backslash line continuation inside the string literal
        raise MediaError(
            "Only one video, archive, pdf, zip or many image, directory can be used "
            "simultaneously, " + " " * 12 + f"but {counts} found.", cvat_type="ValueError")
    if unique == 0 and multiple == 0:
        raise MediaError("No media data found", cvat_type="ValueError")
    return next(k for k, v in counter.items() if v)


def check_relative(name: str, what: str = "file") -> str:
    """A relative path that stays inside its root, normalised to '/' separators."""
    parts = re.split(r"[\\/]+", name)
    if (not name or name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name)
            or ".." in parts):
        raise MediaError(f"Unsafe {what} path: '{name}'")
    return str(PurePosixPath(*[p for p in parts if p not in ("", ".")]))


def inside(root: Path, rel: str) -> Path:
    """root/rel, refusing anything that resolves outside root (e.g. through a symlink)."""
    path = (root / rel).resolve()
    if not path.is_relative_to(root.resolve()):
        raise MediaError(f"Unsafe file path: '{rel}'")
    return path


def place_file(src: Path, dst: Path) -> None:
    """Copy an upload into the data dir; a hard link when possible, as uploads are immutable."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.unlink(missing_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


# ---- archives ---------------------------------------------------------------------------


class _Budget:
    """Caps the members and bytes one archive may expand to (zip bombs lie in headers too,
    so bytes are counted while copying, not only from the declared sizes)."""

    def __init__(self, archive: str) -> None:
        self.archive, self.members, self.bytes = archive, 0, 0

    def add_member(self) -> None:
        self.members += 1
        if self.members > MAX_ARCHIVE_MEMBERS:
            raise MediaError(f"The archive '{self.archive}' has too many files: "
                             f"the limit is {MAX_ARCHIVE_MEMBERS}")

    def add_bytes(self, n: int) -> None:
        self.bytes += n
        if self.bytes > MAX_ARCHIVE_BYTES:
            raise MediaError(f"The archive '{self.archive}' is too large when extracted: "
                             f"the limit is {MAX_ARCHIVE_BYTES} bytes")

    def copy(self, src: IO[bytes], dst: Path) -> None:
        dst.parent.mkdir(parents=True, exist_ok=True)
        with open(dst, "wb") as out:
            while chunk := src.read(1 << 20):
                self.add_bytes(len(chunk))
                out.write(chunk)


def _member_path(archive: str, member: str) -> str:
    try:
        return check_relative(member)
    except MediaError:
        raise MediaError(f"The archive '{archive}' contains an unsafe path: '{member}'") from None


def extract_archive(path: Path, dest: Path, name: str) -> list[str]:
    """Extracts a zip or tar archive into dest; returns the extracted files' paths relative
    to dest, in archive order. Refuses absolute paths, '..', links and oversized contents."""
    import py7zr

    budget = _Budget(name)
    try:
        if zipfile.is_zipfile(path):
            return _extract_zip(path, dest, budget)
        if tarfile.is_tarfile(path):
            return _extract_tar(path, dest, budget)
        if py7zr.is_7zfile(path):
            return _extract_7z(path, dest, budget)
    except (zipfile.BadZipFile, tarfile.TarError, py7zr.exceptions.ArchiveError, EOFError,
            OSError) as exc:
        raise MediaError(f"The archive '{name}' is corrupted: {exc}") from exc
    raise MediaError(f"Unsupported archive format: '{name}'. Use a zip, tar or 7z archive")


def _extract_zip(path: Path, dest: Path, budget: _Budget) -> list[str]:
    extracted = []
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        for info in infos:  # check everything before writing anything
            budget.add_member()
            _member_path(budget.archive, info.filename)
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                raise MediaError(f"The archive '{budget.archive}' contains a link, which is "
                                 f"not allowed: '{info.filename}'")
        if sum(i.file_size for i in infos) > MAX_ARCHIVE_BYTES:
            budget.add_bytes(MAX_ARCHIVE_BYTES + 1)
        for info in infos:
            rel = _member_path(budget.archive, info.filename)
            if info.is_dir() or is_ignored(info.filename):
                continue
            with zf.open(info) as src:
                budget.copy(src, inside(dest, rel))
            extracted.append(rel)
    return extracted


def _extract_7z(path: Path, dest: Path, budget: _Budget) -> list[str]:
    """7z (py7zr): names, links and declared sizes checked first, then extracted whole."""
    import py7zr

    with py7zr.SevenZipFile(path) as archive:
        if archive.needs_password():
            raise MediaError(f"The archive '{budget.archive}' is encrypted")
        infos = archive.list()
        members = []
        for info in infos:
            budget.add_member()
            rel = _member_path(budget.archive, info.filename)
            if info.is_symlink:
                raise MediaError(f"The archive '{budget.archive}' contains a link, which is "
                                 f"not allowed: '{info.filename}'")
            budget.add_bytes(info.uncompressed or 0)
            if not info.is_directory and not is_ignored(info.filename):
                members.append(rel)
        archive.extractall(path=dest)
    for rel in members:  # what was written is what was declared
        if not inside(dest, rel).is_file():
            raise MediaError(f"The archive '{budget.archive}' is corrupted: '{rel}' is missing")
    return members


def _extract_tar(path: Path, dest: Path, budget: _Budget) -> list[str]:
    extracted = []
    with tarfile.open(path, "r:*") as tf:
        for member in tf:  # streamed: compressed tars can't be listed without decompressing
            budget.add_member()
            rel = _member_path(budget.archive, member.name)
            if member.issym() or member.islnk():
                raise MediaError(f"The archive '{budget.archive}' contains a link, which is "
                                 f"not allowed: '{member.name}'")
            if not member.isfile() or is_ignored(member.name):
                continue  # directories, devices, fifos
            src = tf.extractfile(member)
            assert src is not None
            budget.copy(src, inside(dest, rel))
            extracted.append(rel)
    return extracted


# ---- ordering ---------------------------------------------------------------------------


def _natural_parts(text: str) -> tuple:
    # "img10b" -> ("img", 10, "b"); always str first, so mixed types never meet in comparisons
    chunks = re.split(r"(\d+)", text.casefold())
    return tuple(int(c) if i % 2 else c for i, c in enumerate(chunks))


def natural_key(path: str) -> tuple:
    """Like natsort's os_sorted on Linux: per path component, case-insensitive, digit runs
    compared as numbers, the extension compared after the stem."""
    *dirs, last = path.split("/")
    stem, ext = os.path.splitext(last)
    return tuple(_natural_parts(p) for p in (*dirs, stem, ext))


def sort_names(names: list[str], method: str, seed: int | None = None) -> list[str]:
    if method == "lexicographical":
        return sorted(names)
    if method == "natural":
        return sorted(names, key=natural_key)
    if method == "random":  # CVAT shuffles unseeded; a seed makes tests reproducible
        shuffled = list(names)
        random.Random(seed).shuffle(shuffled)
        return shuffled
    if method == "predefined":
        return list(names)
    raise MediaError(f"Unknown sorting method '{method}'")


def _mismatch_list(first: set[str], second: Iterable[str], labels: tuple[str, str]) -> str:
    mismatching = sorted(first.symmetric_difference(second))
    shown = [f + (f" ({labels[0]})" if f in first else f" ({labels[1]})") for f in mismatching[:5]]
    more = len(mismatching) - 5
    return ", ".join(shown) + (f" (and {more} more). " if more > 0 else "")


def apply_upload_file_order(files: Sequence[str], order: Sequence[str]) -> list[str]:
    """The view's _sort_uploaded_files(): the client's order must name exactly the uploads."""
    if set(files) != set(order):
        raise MediaError(
            "Uploaded files do not match the 'upload_file_order' field contents. "
            "Please check the uploaded data and the list of uploaded files. "
            "Mismatching files: " + _mismatch_list(set(files), order, ("extra", "missing")))
    return list(order)


def parse_manifest(data: bytes, name: str) -> list[dict]:
    """CVAT's image manifest (``manifest.jsonl``): the images in order, each as
    ``{"name": "dir/a.jpg", "width": w, "height": h}`` (sizes may be missing)."""
    try:
        lines = [json.loads(line) for line in data.decode().splitlines() if line.strip()]
    except (UnicodeDecodeError, ValueError):
        raise MediaError("Invalid manifest was uploaded") from None
    if len(lines) < 2 or not all(isinstance(x, dict) for x in lines) or "version" not in lines[0]:
        raise MediaError("Invalid manifest was uploaded")
    if lines[1].get("type") != "images":
        raise MediaError("Can't recognize a dataset manifest file in the uploaded file "
                         f"'{os.path.basename(name)}'")
    return [{"name": f"{item.get('name', '')}{item.get('extension', '')}",
             "width": item.get("width"), "height": item.get("height")} for item in lines[2:]]


def read_manifest_order(path: Path, name: str) -> list[str]:
    """The image names, in order, of an uploaded dataset manifest (.jsonl)."""
    try:
        data = path.read_bytes()
    except OSError:
        raise MediaError("Invalid manifest was uploaded") from None
    return [entry["name"] for entry in parse_manifest(data, name)]


def restore_manifest_order(names: list[str], manifest_names: list[str]) -> list[str]:
    if set(names) != set(manifest_names):
        raise MediaError(
            "Uploaded files do no match the upload manifest file contents. "
            "Please check the upload manifest file contents and the list of uploaded files. "
            "Mismatching files: "
            + _mismatch_list(set(names), manifest_names, ("upload", "manifest"))
            + f". Read more: {MANIFEST_DOCS}", cvat_type="FileNotFoundError")
    return list(manifest_names)


def missing_manifest_error() -> MediaError:
    return MediaError(
        f"Can't find upload manifest file '{MANIFEST_NAME}' in the uploaded files. "
        "When the 'predefined' sorting method is used, this file is required in the input "
        f"files. Read more: {MANIFEST_DOCS}", cvat_type="FileNotFoundError")


# ---- context images ---------------------------------------------------------------------


def split_related(names: Iterable[str]) -> tuple[list[str], set[str]]:
    """Frames vs context images (anything under a 'related_images/' directory)."""
    frames, related = [], set()
    for name in names:
        if _RELATED_RE.search(name):
            related.add(name)
        else:
            frames.append(name)
    return frames, related


def find_related(frame: str, related: set[str]) -> list[str]:
    """CVAT's 2D layout: dir/001.png has context images in dir/related_images/001_png/."""
    directory, base = os.path.split(frame)
    prefix = os.path.join(directory, "related_images", "_".join(base.rsplit(".", 1))) + "/"
    return sorted(r for r in related
                  if r.startswith(prefix) and "/" not in r[len(prefix):] and is_image_name(r))
