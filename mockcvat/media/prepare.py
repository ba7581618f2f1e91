"""prepare(): validate and index a task's uploaded media, as CVAT's task creation
(cvat/apps/engine/task.py, _create_thread) does."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from mockcvat.storage.base import ByteStore, StoreError

from . import documents, images, pointclouds, sources, video
from .model import CACHE_DIR, RAW_DIR, FrameInfo, Manifest, MediaError

SORTING_METHODS = ("lexicographical", "natural", "predefined", "random")


def default_chunk_size(width: int, height: int) -> int:
    """CVAT's chunk size for image chunks: about 36 Full HD frames' worth of pixels, 2..72."""
    return max(2, min(72, 36 * 1920 * 1080 // (width * height)))


def prepare(upload_dir: Path, files: list[str], data_dir: Path, *,
            sorting_method: str = "lexicographical",
            upload_file_order: list[str] | None = None,
            start_frame: int = 0, stop_frame: int | None = None, frame_step: int = 1,
            chunk_size: int | None = None, random_seed: int | None = None,
            use_zip_chunks: bool = False,
            progress: Callable[[float], None] | None = None) -> Manifest:
    """Validates and indexes the uploaded media; writes data_dir/manifest.json and a copy of
    the media under data_dir/raw (archives extracted), so FrameStore needs nothing else.

    `files` are paths relative to upload_dir, in upload order. stop_frame None or 0 means
    "to the end", as in CVAT. use_zip_chunks only matters for video (chunk_size default)."""
    upload_dir, data_dir = Path(upload_dir), Path(data_dir)
    _check_params(sorting_method, start_frame, stop_frame, frame_step, chunk_size)
    files = [sources.check_relative(f) for f in files]
    if sorting_method == "predefined" and upload_file_order:
        files = sources.apply_upload_file_order(files, upload_file_order)

    counter, skipped = sources.count_media(files)
    kind = sources.validate_media_mix(counter)
    manifests = [f for f in files if f.endswith(".jsonl")]
    if len(manifests) > 1:
        raise MediaError("Only one manifest file can be attached to data")
    for name in counter[kind] + manifests:
        if not sources.inside(upload_dir, name).is_file():
            raise MediaError(f"The file '{name}' is missing from the uploaded files")

    raw = data_dir / RAW_DIR
    for stale in (raw, data_dir / CACHE_DIR):  # a retried preparation starts afresh
        shutil.rmtree(stale, ignore_errors=True)
    raw.mkdir(parents=True)
    report = progress or (lambda _: None)
    report(0.0)

    if kind == "video":
        manifest = _index_video(upload_dir, raw, counter["video"][0], report, start_frame,
                                stop_frame, frame_step)
    elif kind == "pdf":  # CVAT's PdfReader: every page a JPEG frame, in page order
        pdf = counter["pdf"][0]
        names = documents.render_pages(sources.inside(upload_dir, pdf), raw, pdf,
                                       last_page=stop_frame or None)
        manifest = _index_images(raw, names, {}, report, start_frame, stop_frame, frame_step)
    else:
        names = _gather_images(upload_dir, raw, kind, counter[kind])
        if any(pointclouds.is_point_cloud(n) for n in names):
            manifest = _index_point_clouds(raw, names, sorting_method, random_seed, report,
                                           start_frame, stop_frame, frame_step)
        else:
            order = _order_images(upload_dir, kind, names, sorting_method, random_seed,
                                  manifests)
            manifest = _index_images(raw, *order, report, start_frame, stop_frame, frame_step)
    if chunk_size is None:  # CVAT: 36 frames per video chunk, image chunks sized by area
        first = manifest.frames[0]
        chunk_size = (36 if kind == "video" and not use_zip_chunks
                      else default_chunk_size(first.width, first.height))
    manifest.chunk_size = chunk_size
    manifest.sorting_method = sorting_method
    manifest.use_zip_chunks = use_zip_chunks
    manifest.skipped_files = skipped
    manifest.save(data_dir)
    report(1.0)
    return manifest


def prepare_remote(source: ByteStore, names: list[str], data_dir: Path, *,
                   sizes: dict[str, tuple[int, int]] | None = None,
                   start_frame: int = 0, stop_frame: int | None = None, frame_step: int = 1,
                   chunk_size: int | None = None, sorting_method: str = "lexicographical",
                   progress: Callable[[float], None] | None = None) -> Manifest:
    """Index images that stay in a store (CVAT's cloud data with ``use_cache``): ``names`` are
    keys, already in task order; their sizes come from ``sizes`` (a cloud manifest) or from
    reading each image. Nothing is copied: ``FrameStore(data_dir, source)`` reads them."""
    data_dir = Path(data_dir)
    _check_params(sorting_method, start_frame, stop_frame, frame_step, chunk_size)
    frame_range = _frame_range(len(names), start_frame, stop_frame, frame_step)
    shutil.rmtree(data_dir / CACHE_DIR, ignore_errors=True)
    report = progress or (lambda _: None)
    frames = []
    for i, index in enumerate(frame_range):
        name = names[index]
        known = (sizes or {}).get(name)
        if known and all(isinstance(v, int) and v > 0 for v in known):
            width, height = known
        else:
            try:
                width, height = images.probe(source.get(name), name)
            except StoreError as exc:
                raise MediaError(exc.message) from None
        frames.append(FrameInfo(name, width, height))
        report((i + 1) / len(frame_range) * 0.99)
    first = frames[0]
    manifest = Manifest(
        media_type="imageset", frames=frames, source_frames=list(frame_range),
        start_frame=start_frame, stop_frame=frame_range[-1], frame_step=frame_step,
        chunk_size=chunk_size or default_chunk_size(first.width, first.height),
        sorting_method=sorting_method, source_paths=[f.name for f in frames])
    manifest.save(data_dir)
    report(1.0)
    return manifest


def _check_params(sorting_method: str, start: int, stop: int | None, step: int,
                  chunk_size: int | None) -> None:
    # These mirror DataSerializer's checks, in case the caller hasn't made them
    if sorting_method not in SORTING_METHODS:
        raise MediaError(f'"{sorting_method}" is not a valid choice.')
    if start < 0 or (stop is not None and stop < 0):
        raise MediaError("Ensure this value is greater than or equal to 0.")
    if stop is not None and start > stop:
        raise MediaError("Stop frame must be more or equal start frame")
    if step < 1:
        raise MediaError("Invalid frame filter expression")
    if chunk_size is not None and chunk_size <= 0:
        raise MediaError("Chunk size must be a positive integer")


def _frame_range(count: int, start: int, stop: int | None, step: int, *,
                 video: bool = False) -> range:
    """CVAT's readers: stop None or 0 means the last frame. A start beyond the data is an
    error; CVAT's own message there is unhelpful (a bare AssertionError for images, "range()
    arg 3 must not be zero" for video), so only its exception type is kept."""
    last = count - 1 if not stop else min(count - 1, stop)
    if start > last:
        raise MediaError(f"The start frame {start} is beyond the data: it has {count} "
                         f"frame(s), numbered from 0",
                         cvat_type="ValueError" if video else "AssertionError")
    return range(start, last + 1, step)  # CVAT reports stop_frame as its last element


def _gather_images(upload_dir: Path, raw: Path, kind: str, entries: list[str]) -> list[str]:
    """Image names relative to the upload root, with their files placed under raw."""
    if kind == "image":
        for name in entries:
            sources.place_file(sources.inside(upload_dir, name), sources.inside(raw, name))
        names = entries
    else:  # one archive, extracted next to where it was uploaded, as CVAT does
        archive = entries[0]
        prefix = os.path.dirname(archive)
        extracted = sources.extract_archive(sources.inside(upload_dir, archive),
                                            sources.inside(raw, prefix or "."), archive)
        names = [os.path.join(prefix, e) for e in extracted if sources.is_image_name(e)]
    return names


def _order_images(upload_dir: Path, kind: str, names: list[str], method: str,
                  seed: int | None, manifests: list[str]) -> tuple[list[str], dict]:
    """Frame names in task order, and the context images of each frame."""
    frames, related = sources.split_related(names)
    if not frames:
        raise MediaError("No image found", cvat_type="Exception")
    if manifests and method == "random":
        raise MediaError("It isn't supported to upload manifest file and use random sorting")
    if method == "predefined" and manifests:
        manifest_path = sources.inside(upload_dir, manifests[0])
        frames = sources.restore_manifest_order(
            frames, sources.read_manifest_order(manifest_path, manifests[0]))
    elif method == "predefined" and kind == "zip":
        raise sources.missing_manifest_error()  # zip member order isn't trusted by CVAT
    else:
        frames = sources.sort_names(frames, method, seed)
    context = {f: r for f in frames if (r := sources.find_related(f, related))}
    return frames, context


def _index_images(raw: Path, names: list[str], context: dict[str, list[str]],
                  report: Callable[[float], None], start: int, stop: int | None,
                  step: int) -> Manifest:
    frame_range = _frame_range(len(names), start, stop, step)
    frames = []
    for i, index in enumerate(frame_range):
        name = names[index]
        width, height = images.probe(sources.inside(raw, name), name)
        frames.append(FrameInfo(name, width, height, len(context.get(name, []))))
        report((i + 1) / len(frame_range) * 0.99)
    return Manifest(
        media_type="imageset", frames=frames, source_frames=list(frame_range),
        start_frame=start, stop_frame=frame_range[-1], frame_step=step, chunk_size=0,
        source_paths=[f.name for f in frames],
        related_images={f.name: context[f.name] for f in frames if f.name in context})


def _index_point_clouds(raw: Path, names: list[str], method: str, seed: int | None,
                        report: Callable[[float], None], start: int, stop: int | None,
                        step: int) -> Manifest:
    """A 3D task: ``.bin`` scans converted to PCD, the clouds in task order with their
    context images, each cloud read (its size from the PCD header)."""
    names = [n if not n.lower().endswith(".bin") else
             os.path.relpath(pointclouds.bin_to_pcd(sources.inside(raw, n)), raw)
             for n in names]
    clouds, related = pointclouds.context_of(names)
    context = {image for images in related.values() for image in images}
    stray = [n for n in names if n not in context and n not in clouds]
    if stray:  # CVAT's detect_related_images: 2D and 3D data never mix
        raise MediaError("Combined data types 2D and 3D are not supported (not a context image "
                         f"of any point cloud: {', '.join(sorted(stray)[:5])})",
                         cvat_type="AssertionError")
    clouds = sources.sort_names(clouds, method, seed)
    frame_range = _frame_range(len(clouds), start, stop, step)
    frames = []
    for i, index in enumerate(frame_range):
        name = clouds[index]
        width, height = pointclouds.probe(sources.inside(raw, name), name)
        frames.append(FrameInfo(name, width, height, len(related.get(name, []))))
        report((i + 1) / len(frame_range) * 0.99)
    return Manifest(
        media_type="imageset", frames=frames, source_frames=list(frame_range),
        start_frame=start, stop_frame=frame_range[-1], frame_step=step, chunk_size=0,
        source_paths=[f.name for f in frames], dimension="3d",
        related_images={f.name: related[f.name] for f in frames if f.name in related})


def _index_video(upload_dir: Path, raw: Path, name: str, report: Callable[[float], None],
                 start: int, stop: int | None, step: int) -> Manifest:
    path = sources.inside(raw, name)
    sources.place_file(sources.inside(upload_dir, name), path)
    info = video.probe(path, name, lambda p: report(p * 0.99))
    frame_range = _frame_range(info.frame_count, start, stop, step, video=True)
    return Manifest(
        media_type="video", frames=[FrameInfo(name, info.width, info.height) for _ in frame_range],
        source_frames=list(frame_range), start_frame=start, stop_frame=frame_range[-1],
        frame_step=step, chunk_size=0, source_paths=[name],
        video_frame_count=info.frame_count, keyframes=info.keyframes, chapters=info.chapters)
