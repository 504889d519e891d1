"""Container checks that tell a file cut short before it is decoded: a WAV file whose data chunk holds fewer
bytes than its header declares, an Ogg stream without its final page. Decoders often read such files
without a word, returning less audio than the recording has."""

import struct
from pathlib import Path

from musiczoo_runtime.errors import ZooError


def declared_wav_bytes(path):
    """(declared, present) byte counts of a RIFF WAV file's data chunk, or None if unknown."""
    with open(path, "rb") as handle:
        header = handle.read(12)
        if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
            return None
        size = Path(path).stat().st_size
        while True:
            chunk = handle.read(8)
            if len(chunk) < 8:
                return None
            name, length = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if name == b"data":
                if length in (0, 0xFFFFFFFF):
                    return None  # streaming writers leave the size unset
                return length, size - handle.tell()
            handle.seek(length + (length & 1), 1)


def ogg_is_complete(path):
    """False when an Ogg stream's last page lacks the end-of-stream flag (a cut file)."""
    with open(path, "rb") as handle:
        size = handle.seek(0, 2)
        handle.seek(max(0, size - 65536))
        tail = handle.read()
    last = tail.rfind(b"OggS")
    return last >= 0 and len(tail) > last + 5 and bool(tail[last + 5] & 0x04)


def check_container(path):
    """Raises ZooError for WAV and Ogg files whose container shows they were cut short."""
    declared = declared_wav_bytes(path)
    if declared is not None and declared[1] < declared[0]:
        raise ZooError(
            f"{path}: truncated WAV file: its header declares {declared[0]} bytes of audio, "
            f"only {declared[1]} are present"
        )
    with open(path, "rb") as handle:
        is_ogg = handle.read(4) == b"OggS"
    if is_ogg and not ogg_is_complete(path):
        raise ZooError(f"{path}: truncated Ogg file: the stream ends without its final page")
