"""``S3Storage``: files in an S3-compatible bucket (AWS S3, MinIO, Ceph, ...), for hosts with no shared disk.

Objects are named ``HELDOUT_S3_PREFIX`` + key and carry their sha256 as metadata (``x-amz-meta-sha256``).

Writing streams: a file up to one part is one PUT; a larger one is a multipart upload of ``part_size``
parts, sent as they fill, to a temporary object (``~partial/…``, never a valid key), then copied, on the
server, to its key with its sha256 (known only at the end) and removed. A PUT or a copy replaces an object
whole, so a reader sees the old file or the new one. An upload that stops (too large, or failing) is
aborted; one whose writer died is removed by a later writer's sweep (daily).

Reading uses ranged GETs that must match the object's ETag (``If-Match``): a reader that outlives a
replacement gets ``FileChanged``, never a mix. ``local_file`` keeps copies in this process's
content-hash cache (``ContentCache``), as ``DatabaseStorage`` does.
"""

from __future__ import annotations

import hashlib
import io
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from heldout.storage.base import CHUNK, FileChanged, PositionedReader, StorageUnavailable, TooLarge, check_key
from heldout.storage.cache import ContentCache

if TYPE_CHECKING:
    from heldout.config import S3Settings

MiB = 1024 * 1024
_PARTIAL = "~partial/"
# A multipart upload's parts must be at least 5 MiB (all but the last); 8 MiB is what the AWS CLI sends.
MIN_PART = 5 * MiB
PART = 8 * MiB
_MAX_COPY = 5 * 1024 * MiB  # CopyObject's limit; larger objects are copied part by part
_COPY_PART = 512 * MiB
# Ranged GETs: the first after a seek, and the largest a sequential read grows to (see _RangeReader).
_FIRST_WINDOW = 8 * MiB
_MAX_WINDOW = 256 * MiB
_PARTIAL_TTL = timedelta(days=1)
_SWEEP_EVERY_S = 3600.0


def make_client(s3: "S3Settings"):  # noqa: ANN201
    """A boto3 S3 client for these settings: path-style addressing on a custom endpoint (MinIO and most
    S3-compatible servers want it), checksums only where S3 requires them (not every compatible server
    knows the newer ones), a few retries, and timeouts that fail start-up checks quickly.

    Clients share one botocore session, which reads S3's API description once per process; credentials are
    the client's own (None: boto3's usual search, e.g. an instance profile)."""
    from botocore.config import Config

    config = Config(
        region_name=s3.region or "us-east-1",
        s3={"addressing_style": "path" if s3.endpoint_url else "auto"},
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=5, read_timeout=60, max_pool_connections=20,
        request_checksum_calculation="when_required", response_checksum_validation="when_required",
    )
    with _session_lock:
        return _botocore_session().create_client(
            "s3", endpoint_url=s3.endpoint_url, config=config, aws_access_key_id=s3.access_key_id,
            aws_secret_access_key=s3.secret_access_key, aws_session_token=s3.session_token)


_session_lock = threading.Lock()
_session = None


def _botocore_session():  # noqa: ANN202
    global _session
    if _session is None:
        import botocore.session

        _session = botocore.session.get_session()
    return _session


class S3Storage:
    """Files in an S3 bucket, under ``prefix``; see the module's docstring."""

    def __init__(self, client, bucket: str, *, prefix: str = "", cache_dir: Path | None = None,  # noqa: ANN001
                 cache_max_bytes: int = 2 << 30, part_size: int = PART, endpoint_url: str | None = None):
        if part_size < MIN_PART:
            raise ValueError(f"part_size must be at least {MIN_PART} bytes (S3's smallest multipart part)")
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.part_size = part_size
        self.endpoint_url = endpoint_url
        self.cache = ContentCache(cache_dir, cache_max_bytes)
        self._last_sweep: float | None = None
        self._sweep_lock = threading.Lock()

    @classmethod
    def from_settings(cls, s3: "S3Settings", *, cache_dir: Path | None = None, **options) -> "S3Storage":
        return cls(make_client(s3), s3.bucket, prefix=s3.prefix, cache_dir=cache_dir,
                   endpoint_url=s3.endpoint_url, **options)

    @property
    def cache_root(self) -> Path:
        return self.cache.cache_root

    def _name(self, key: str) -> str:
        check_key(key)
        if len(key) + len(self.prefix) > 1024:
            raise ValueError(f"invalid storage key {key[:40]!r}…: longer than S3's 1024 bytes")
        return self.prefix + key

    # --- start-up --------------------------------------------------------------------------------------------

    def check(self) -> None:
        """Raise ``StorageUnavailable`` (one line naming the variable) unless the bucket answers."""
        from botocore.exceptions import (ClientError, EndpointConnectionError, NoCredentialsError,
                                         PartialCredentialsError)

        where = self.endpoint_url or "AWS"
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (NoCredentialsError, PartialCredentialsError):
            raise StorageUnavailable("no S3 credentials were found — set AWS_ACCESS_KEY_ID and "
                                     "AWS_SECRET_ACCESS_KEY") from None
        except EndpointConnectionError as exc:
            raise StorageUnavailable(f"cannot reach the S3 endpoint at {where}: {_reason(exc)} — start it or fix "
                                     "HELDOUT_S3_ENDPOINT_URL") from None
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            code = exc.response.get("Error", {}).get("Code", str(status))
            if status == 404 or code in ("404", "NoSuchBucket"):
                raise StorageUnavailable(f"there is no bucket {self.bucket!r} at {where} — create it or fix "
                                         "HELDOUT_S3_BUCKET") from None
            if status in (401, 403) or code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied"):
                raise StorageUnavailable(f"the S3 endpoint at {where} refused the credentials for bucket "
                                         f"{self.bucket!r} ({code}) — fix AWS_ACCESS_KEY_ID and "
                                         "AWS_SECRET_ACCESS_KEY") from None
            raise StorageUnavailable(f"the S3 endpoint at {where} answered {code} for bucket {self.bucket!r} — "
                                     "check HELDOUT_S3_ENDPOINT_URL and HELDOUT_S3_BUCKET") from None
        except Exception as exc:  # noqa: BLE001 - any other transport failure (timeouts, TLS, a bad URL)
            raise StorageUnavailable(f"cannot reach the S3 endpoint at {where}: {_reason(exc)} — start it or fix "
                                     "HELDOUT_S3_ENDPOINT_URL") from None

    # --- writing ---------------------------------------------------------------------------------------------

    def save_stream(self, key: str, stream: BinaryIO, *, max_bytes: int | None = None) -> tuple[int, str]:
        """Store a stream; returns (size, sha256). Stops as soon as max_bytes is passed, storing nothing."""
        name = self._name(key)
        self._sweep_now_and_then()
        digest, size = hashlib.sha256(), 0
        part = _Part(self.part_size)
        upload: _Upload | None = None
        try:
            while True:
                data = stream.read(CHUNK)
                if data:
                    size += len(data)
                    if max_bytes is not None and size > max_bytes:
                        raise TooLarge(max_bytes)
                    digest.update(data)
                    rest = part.fill(data)
                    while part.full:
                        if upload is None:
                            upload = _Upload(self.client, self.bucket, f"{self.prefix}{_PARTIAL}{uuid.uuid4().hex}")
                        upload.send(part)
                        rest = part.fill(rest)
                if not data:
                    break
            sha256 = digest.hexdigest()
            metadata = {"sha256": sha256}
            if upload is None:  # one part at most: a single PUT, with its sha256
                self.client.put_object(Bucket=self.bucket, Key=name, Body=part.reader(), Metadata=metadata)
                return size, sha256
            if part.used:
                upload.send(part)
            upload.complete()
            self._copy(upload.key, name, size, metadata)
            upload.remove()
        except BaseException:
            if upload is not None:
                upload.discard()
            raise
        return size, sha256

    def save_file(self, key: str, source: Path) -> tuple[int, str]:
        with open(source, "rb") as handle:
            return self.save_stream(key, handle)

    def _copy(self, source: str, target: str, size: int, metadata: dict) -> None:
        """Copy an object on the server, giving the copy ``metadata``: one request up to 5 GiB, else by parts."""
        copy_source = {"Bucket": self.bucket, "Key": source}
        if size <= _MAX_COPY:
            self.client.copy_object(Bucket=self.bucket, Key=target, CopySource=copy_source, Metadata=metadata,
                                    MetadataDirective="REPLACE")
            return
        upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=target, Metadata=metadata)["UploadId"]
        try:
            parts = []
            for n, start in enumerate(range(0, size, _COPY_PART), start=1):
                end = min(size, start + _COPY_PART) - 1
                done = self.client.upload_part_copy(Bucket=self.bucket, Key=target, UploadId=upload_id, PartNumber=n,
                                                    CopySource=copy_source, CopySourceRange=f"bytes={start}-{end}")
                parts.append({"PartNumber": n, "ETag": done["CopyPartResult"]["ETag"]})
            self.client.complete_multipart_upload(Bucket=self.bucket, Key=target, UploadId=upload_id,
                                                  MultipartUpload={"Parts": parts})
        except BaseException:
            _quietly(lambda: self.client.abort_multipart_upload(Bucket=self.bucket, Key=target, UploadId=upload_id))
            raise

    def _sweep_now_and_then(self) -> None:
        """Remove what writers that died left behind (a day old): temporary objects and unfinished uploads."""
        with self._sweep_lock:
            if self._last_sweep is not None and time.monotonic() - self._last_sweep < _SWEEP_EVERY_S:
                return
            self._last_sweep = time.monotonic()
        cutoff = datetime.now(timezone.utc) - _PARTIAL_TTL
        partial = self.prefix + _PARTIAL
        try:
            old = [item["Key"] for item in self._list(partial) if item["LastModified"] < cutoff]
            self._delete_names(old)
            for page in self.client.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket,
                                                                                     Prefix=partial):
                for upload in page.get("Uploads", []):
                    if upload["Initiated"] < cutoff:
                        self.client.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"],
                                                           UploadId=upload["UploadId"])
        except Exception:  # noqa: BLE001 - a sweep that fails is tried again in an hour; the upload matters more
            pass

    # --- reading ---------------------------------------------------------------------------------------------

    def _head(self, key: str) -> dict | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as exc:
            if _status(exc) == 404:
                return None
            raise

    def open(self, key: str) -> BinaryIO:
        head = self._head(key)
        if head is None:
            raise FileNotFoundError(f"no stored file {key!r}")
        return io.BufferedReader(_RangeReader(self.client, self.bucket, self._name(key), key, head), buffer_size=CHUNK)

    def exists(self, key: str) -> bool:
        return self._head(key) is not None

    def stat(self, key: str) -> tuple[int, str | None] | None:
        """(size, sha256) of the file, or None when there is none; sha256 is None for an object Heldout did
        not write."""
        head = self._head(key)
        if head is None:
            return None
        return head["ContentLength"], head.get("Metadata", {}).get("sha256")

    def local_file(self, key: str) -> Path:
        """A copy of the file in this process's cache, fetched unless the same content is already there."""
        for _attempt in range(3):
            head = self._head(key)
            if head is None:
                raise FileNotFoundError(f"no stored file {key!r}")
            sha256 = head.get("Metadata", {}).get("sha256")
            content = sha256 or "etag-" + hashlib.sha256(head["ETag"].encode()).hexdigest()[:32]
            try:
                return self.cache.get(key, content, lambda head=head: io.BufferedReader(
                    _RangeReader(self.client, self.bucket, self._name(key), key, head), buffer_size=CHUNK),
                    sha256=sha256)
            except FileChanged:
                continue  # replaced while we read it: fetch the new one
        raise FileChanged(f"{key!r} kept changing while it was being fetched")

    def keys(self) -> Iterator[str]:
        """Every stored file's key, in no particular order (for ``heldout storage migrate``)."""
        for item in self._list(self.prefix):
            key = item["Key"][len(self.prefix):]
            if not key.startswith(_PARTIAL):
                yield key

    # --- deleting --------------------------------------------------------------------------------------------

    def delete(self, key: str) -> None:
        name = self._name(key)
        self.client.delete_object(Bucket=self.bucket, Key=name)
        self._delete_names([item["Key"] for item in self._list(name + "/")])

    def _list(self, prefix: str) -> Iterator[dict]:
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            yield from page.get("Contents", [])

    def _delete_names(self, names: list[str]) -> None:
        for start in range(0, len(names), 1000):
            batch = names[start:start + 1000]
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": [{"Key": n} for n in batch],
                                                                   "Quiet": True})


class _Part:
    """One multipart part's bytes, in a buffer allocated once and reused: a part in memory at a time."""

    def __init__(self, size: int):
        self.buffer = bytearray(size)
        self.used = 0

    @property
    def full(self) -> bool:
        return self.used == len(self.buffer)

    def fill(self, data: bytes | memoryview) -> memoryview:
        """Copy as much of ``data`` as fits; returns what did not."""
        view = memoryview(data)
        n = min(len(view), len(self.buffer) - self.used)
        self.buffer[self.used:self.used + n] = view[:n]
        self.used += n
        return view[n:]

    def reader(self) -> BinaryIO:
        """The part's bytes as a seekable stream (botocore rewinds it to retry), without copying them."""
        return io.BufferedReader(_ViewReader(memoryview(self.buffer)[:self.used]))


class _ViewReader(PositionedReader):
    def __init__(self, view: memoryview):
        super().__init__()
        self._view, self._pos, self._size = view, 0, len(view)

    def readinto(self, buffer) -> int:  # noqa: ANN001
        n = max(0, min(len(buffer), len(self._view) - self._pos))
        memoryview(buffer)[:n] = self._view[self._pos:self._pos + n]
        self._pos += n
        return n


class _Upload:
    """A multipart upload to a temporary object, part by part."""

    def __init__(self, client, bucket: str, key: str):  # noqa: ANN001
        self.client, self.bucket, self.key = client, bucket, key
        self.upload_id: str | None = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        self.parts: list[dict] = []
        self.completed = False

    def send(self, part: _Part) -> None:
        n = len(self.parts) + 1
        with part.reader() as body:
            done = self.client.upload_part(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=n,
                                           Body=body, ContentLength=part.used)
        self.parts.append({"PartNumber": n, "ETag": done["ETag"]})
        part.used = 0

    def complete(self) -> None:
        self.client.complete_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
                                              MultipartUpload={"Parts": self.parts})
        self.completed = True

    def remove(self) -> None:
        _quietly(lambda: self.client.delete_object(Bucket=self.bucket, Key=self.key))

    def discard(self) -> None:
        if self.completed:
            self.remove()
        else:
            _quietly(lambda: self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key,
                                                                UploadId=self.upload_id))


class _RangeReader(PositionedReader):
    """A seekable view of one object, read by ranged GETs (``If-Match`` its ETag), each streamed.

    The first GET after a seek asks for ``_FIRST_WINDOW`` bytes and each one that continues a sequential read
    twice as many as the last, up to ``_MAX_WINDOW``: a Range request or a seek costs a small GET, a whole
    download a handful."""

    def __init__(self, client, bucket: str, name: str, key: str, head: dict):  # noqa: ANN001
        super().__init__()
        self._client, self._bucket, self._name, self._key = client, bucket, name, key
        self._size, self._etag = head["ContentLength"], head["ETag"]
        self._pos = 0
        self._body = None
        self._body_pos = -1
        self._body_end = -1  # where the open GET's range ends (exclusive)
        self._window = _FIRST_WINDOW

    def readinto(self, buffer) -> int:  # noqa: ANN001
        if self._pos >= self._size:
            return 0
        if self._body is None or self._body_pos != self._pos or self._pos >= self._body_end:
            sequential = self._body_pos == self._pos
            self._window = min(_MAX_WINDOW, self._window * 2) if sequential else _FIRST_WINDOW
            self._open_at(self._pos, min(self._size, self._pos + self._window))
        want = min(len(buffer), self._body_end - self._pos)
        try:
            data = self._body.read(want)
        except Exception as exc:  # noqa: BLE001 - a dropped connection: the next read starts a new GET
            self._drop()
            raise FileChanged(f"reading {self._key!r} failed: {_reason(exc)}") from None
        if not data:
            raise FileChanged(f"{self._key!r} ended early: it was replaced or deleted while it was being read")
        memoryview(buffer)[:len(data)] = data
        self._pos += len(data)
        self._body_pos = self._pos
        return len(data)

    def _open_at(self, start: int, end: int) -> None:
        from botocore.exceptions import ClientError

        self._drop()
        try:
            answer = self._client.get_object(Bucket=self._bucket, Key=self._name, IfMatch=self._etag,
                                             Range=f"bytes={start}-{end - 1}")
        except ClientError as exc:
            if _status(exc) in (404, 412, 416):
                raise FileChanged(f"{self._key!r} was replaced or deleted while it was being read") from None
            raise
        if answer.get("ETag") not in (None, self._etag):
            answer["Body"].close()
            raise FileChanged(f"{self._key!r} was replaced or deleted while it was being read")
        self._body, self._body_pos, self._body_end = answer["Body"], start, end

    def _drop(self) -> None:
        if self._body is not None:
            _quietly(self._body.close)
        self._body, self._body_end = None, -1

    def close(self) -> None:
        self._drop()
        super().close()


def _status(exc) -> int | None:  # noqa: ANN001
    return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _quietly(call) -> None:  # noqa: ANN001
    try:
        call()
    except Exception:  # noqa: BLE001 - clean-up after a failure: the original error matters more
        pass
