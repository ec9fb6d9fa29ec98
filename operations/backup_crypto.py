"""Streaming authenticated encryption of backup archives (AES-256-GCM in chunks).

An archive can be hundreds of MB, so it is encrypted as it is written and decrypted as it is
read, one chunk at a time, never whole in memory. The layout follows the STREAM construction:

    header  = MAGIC | salt (16) | nonce prefix (7) | chunk size (4, big-endian) | key check (16)
    records = AES-GCM(chunk) for each chunk; every record but the last holds exactly
              `chunk size` bytes of plaintext, the last holds fewer (possibly none)
    nonce   = nonce prefix | chunk counter (4, big-endian) | 1 if last else 0
    AAD     = the whole header, so no header byte can be changed unnoticed

The counter in the nonce stops records being reordered or dropped, the last-record flag stops
truncation. The key comes from the passphrase (TANDEM_BACKUP_KEY) by scrypt with the archive's
own salt; the key check (more scrypt output, not the key) tells a wrong passphrase apart from
an altered file.
"""

from __future__ import annotations

import hmac
import os
import struct
from typing import BinaryIO, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

MAGIC = b"TANDEMBK\x01"
SALT_BYTES = 16
PREFIX_BYTES = 7
CHECK_BYTES = 16
TAG_BYTES = 16
HEADER_BYTES = len(MAGIC) + SALT_BYTES + PREFIX_BYTES + 4 + CHECK_BYTES
CHUNK_BYTES = 1 << 20
# scrypt at 2**15 x 8: 32 MiB and ~0.1 s per archive, costly to guess passphrases against.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**15, 8, 1


class WrongKey(Exception):
    """The passphrase is not the one the archive was encrypted with."""


class Damaged(Exception):
    """The encrypted archive was altered or cut short."""


class _Writable(Protocol):
    def write(self, data: bytes, /) -> int: ...

    def flush(self) -> None: ...


def _derive(passphrase: str, salt: bytes) -> tuple[bytes, bytes]:
    material = Scrypt(salt=salt, length=32 + CHECK_BYTES, n=_SCRYPT_N, r=_SCRYPT_R,
                      p=_SCRYPT_P).derive(passphrase.encode())
    return material[:32], material[32:]


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + struct.pack(">IB", counter, 1 if last else 0)


def is_encrypted(head: bytes) -> bool:
    return head.startswith(MAGIC)


class EncryptingWriter:
    """A write-only file object: encrypts what it is given into `target`; close() seals it."""

    def __init__(self, target: _Writable, passphrase: str,
                 chunk_bytes: int = CHUNK_BYTES) -> None:
        salt, self._prefix = os.urandom(SALT_BYTES), os.urandom(PREFIX_BYTES)
        key, check = _derive(passphrase, salt)
        self._aead = AESGCM(key)
        self._header = MAGIC + salt + self._prefix + struct.pack(">I", chunk_bytes) + check
        self._target = target
        self._chunk = chunk_bytes
        self._buffer = bytearray()
        self._counter = 0
        self._closed = False
        target.write(self._header)

    def _emit(self, plain: bytes, last: bool) -> None:
        nonce = _nonce(self._prefix, self._counter, last)
        self._target.write(self._aead.encrypt(nonce, plain, self._header))
        self._counter += 1

    def write(self, data: bytes) -> int:
        self._buffer += data
        while len(self._buffer) >= self._chunk:
            self._emit(bytes(self._buffer[:self._chunk]), last=False)
            del self._buffer[:self._chunk]
        return len(data)

    def flush(self) -> None:
        self._target.flush()

    def close(self) -> None:
        if not self._closed:
            self._emit(bytes(self._buffer), last=True)
            self._buffer.clear()
            self._closed = True
            self._target.flush()


class DecryptingReader:
    """A read-only file object over an encrypted archive; raises WrongKey or Damaged."""

    def __init__(self, source: BinaryIO, passphrase: str) -> None:
        header = source.read(HEADER_BYTES)
        if len(header) < HEADER_BYTES or not is_encrypted(header):
            raise Damaged("the encrypted archive's header is missing or cut short")
        offset = len(MAGIC)
        salt = header[offset:offset + SALT_BYTES]
        offset += SALT_BYTES
        self._prefix = header[offset:offset + PREFIX_BYTES]
        offset += PREFIX_BYTES
        (self._chunk,) = struct.unpack(">I", header[offset:offset + 4])
        check = header[offset + 4:]
        if not 0 < self._chunk <= 64 * CHUNK_BYTES:
            raise Damaged("the encrypted archive's header is not valid")
        key, expected = _derive(passphrase, salt)
        if not hmac.compare_digest(check, expected):
            raise WrongKey("TANDEM_BACKUP_KEY is not the key this archive was encrypted with")
        self._aead = AESGCM(key)
        self._header = header
        self._source = source
        self._counter = 0
        self._done = False
        self._buffer = bytearray()

    def _next_record(self) -> None:
        record = self._source.read(self._chunk + TAG_BYTES)
        last = len(record) < self._chunk + TAG_BYTES
        if not record and self._counter > 0:
            # A full record was the end of the file: the sealed last record is missing.
            raise Damaged("the encrypted archive is cut short")
        try:
            plain = self._aead.decrypt(_nonce(self._prefix, self._counter, last), record,
                                       self._header)
        except InvalidTag as exc:
            raise Damaged(f"the encrypted archive was altered (record {self._counter})") from exc
        self._counter += 1
        self._buffer += plain
        if last:
            if self._source.read(1):
                raise Damaged("the encrypted archive has data after its last record")
            self._done = True

    def read(self, size: int = -1) -> bytes:
        while not self._done and (size < 0 or len(self._buffer) < size):
            self._next_record()
        if size < 0:
            size = len(self._buffer)
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out
