"""Cloud storage benchmarks against moto's S3 server (in-process, 127.0.0.1): a task of 100
images from a bucket, with ``use_cache`` (indexed in the bucket, from a manifest or by reading
every image) and without (downloaded), and the first and cached read of its chunks.

Run from the repository root: ``.venv/bin/python bench/cloud.py`` (needs the test extras for
moto). The mock runs in "thread" mode; the SDK polls every 50 ms. Prints figures only.
"""

from __future__ import annotations

import io
import json
import statistics
import time

import boto3
from cvat_sdk.api_client import models
from cvat_sdk.core.proxies.tasks import ResourceType
from moto.server import ThreadedMotoServer
from PIL import Image

from mockcvat.testing import MockCVATServer

COUNT, REPEATS, IMAGE = 100, 3, (640, 480)


def fill_bucket(s3, bucket: str) -> float:
    s3.create_bucket(Bucket=bucket)
    lines, total = [{"version": "1.1"}, {"type": "images"}], 0
    for i in range(COUNT):
        out = io.BytesIO()
        Image.effect_noise(IMAGE, 40).convert("RGB").save(out, format="JPEG", quality=85)
        s3.put_object(Bucket=bucket, Key=f"frames/{i:04d}.jpg", Body=out.getvalue())
        total += out.tell()
        lines.append({"name": f"{i:04d}", "extension": ".jpg", "width": IMAGE[0],
                      "height": IMAGE[1]})
    s3.put_object(Bucket=bucket, Key="frames/manifest.jsonl",
                  Body="".join(json.dumps(line) + "\n" for line in lines).encode())
    return total / COUNT / 1024


def main() -> None:
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    kib = fill_bucket(s3, "frames")
    print(f"bucket: {COUNT} {IMAGE[0]}x{IMAGE[1]} JPEGs of {kib:.0f} KiB on moto ({endpoint})")
    try:
        with MockCVATServer(background_mode="thread") as server, server.make_client() as client:
            client.config.status_check_period = 0.05
            storage, _ = client.api_client.cloudstorages_api.create(
                models.CloudStorageWriteRequest(
                    provider_type="AWS_S3_BUCKET", resource="frames", display_name="frames",
                    credentials_type="KEY_SECRET_KEY_PAIR", key="testing",
                    secret_key="testing", specific_attributes=f"endpoint_url={endpoint}"))
            cases = (("use_cache, manifest", ["frames/manifest.jsonl"], True),
                     ("use_cache, no manifest", ["frames/"], True),
                     ("downloaded", ["frames/"], False))
            for label, resources, use_cache in cases:
                times = []
                for _ in range(REPEATS):
                    started = time.perf_counter()
                    task = client.tasks.create_from_data(
                        {"name": label, "labels": [{"name": "car"}]},
                        resource_type=ResourceType.SHARE, resources=resources,
                        data_params={"cloud_storage_id": storage.id, "use_cache": use_cache,
                                     "image_quality": 70})
                    times.append(time.perf_counter() - started)
                print(f"create_from_data from the bucket, {label:22s}: median "
                      f"{statistics.median(times):.2f} s ({REPEATS} runs)")
                chunks = -(-task.size // task.data_chunk_size)
                for when in ("first read", "cached"):
                    started, total = time.perf_counter(), 0
                    for number in range(chunks):
                        out = io.BytesIO()
                        task.download_chunk(number, out, quality="original")
                        total += out.tell()
                    elapsed = time.perf_counter() - started
                    print(f"  original chunks, {when:10s}: {total / 2**20:.1f} MiB in "
                          f"{elapsed:.2f} s = {total / 2**20 / elapsed:.1f} MiB/s")
    finally:
        moto.stop()


if __name__ == "__main__":
    main()
