"""Container checks that tell a file cut short before it is decoded: a WAV file whose data chunk holds fewer
bytes than its header declares, an Ogg stream without its final page, an MP3 whose last frame is cut. Decoders often read such files
without a word, returning less audio than the recording has."""

import mmap
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
    """Raises ZooError for WAV, Ogg and MP3 files whose container shows they were cut short."""
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
    if Path(path).suffix.lower() == ".mp3":
        missing = mp3_cut_bytes(path)
        if missing:
            raise ZooError(f"{path}: truncated MP3 file: its last frame lacks {missing} bytes (the file was cut "
                           "short, e.g. an interrupted download)")


# MPEG audio frame headers (ISO 11172-3 and 13818-3): kbit/s by (MPEG-1?, layer) and bitrate index 1..14
_BITRATES = {
    (True, 1): (32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 3): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}  # by version bits


def mpeg_frame_bytes(header):
    """Length in bytes of the MPEG audio frame whose 4-byte header is `header`, or None if it is not one
    (or uses the free bitrate, whose length the header does not give)."""
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    version, layer = (header[1] >> 3) & 3, 4 - ((header[1] >> 1) & 3)
    bitrate_index, rate_index, padding = header[2] >> 4, (header[2] >> 2) & 3, (header[2] >> 1) & 1
    if version == 1 or layer == 4 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    mpeg1 = version == 3
    bitrate, rate = _BITRATES[mpeg1, layer][bitrate_index - 1] * 1000, _SAMPLE_RATES[version][rate_index]
    if layer == 1:
        return (12 * bitrate // rate + padding) * 4
    return (144 if mpeg1 or layer == 2 else 72) * bitrate // rate + padding


def mp3_cut_bytes(path):
    """How far an MPEG audio file's last frame runs past its end (0 when it ends on a frame boundary or the
    frames cannot be followed to the end, e.g. a tag or junk follows them).

    libsndfile estimates an MP3's length when no header states it, so the declared length is no test of
    a cut file; following the chain of frames from the first one is.
    """
    if Path(path).stat().st_size == 0:
        return 0
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return _frames_overrun(data)


def _frames_overrun(data):
    """`mp3_cut_bytes` of the file's bytes `data` (bytes or an mmap)."""
    size, position = len(data), 0
    if data[:3] == b"ID3" and size >= 10:  # an ID3v2 tag: its size is 4 synchsafe bytes, plus a footer if flagged
        position = 10 + sum((data[6 + i] & 0x7F) << (7 * (3 - i)) for i in range(4)) + (10 if data[5] & 0x10 else 0)
    limit = min(size, position + 65536)
    while position < limit:  # the first frame: a header whose successor is a header too
        length = mpeg_frame_bytes(data[position:position + 4])
        if length and (position + length >= size or mpeg_frame_bytes(data[position + length:position + length + 4])):
            break
        position = data.find(b"\xff", position + 1, limit)
        if position < 0:
            return 0
    else:
        return 0
    while position < size:
        length = mpeg_frame_bytes(data[position:position + 4])
        if length is None:
            return max(0, 4 - (size - position)) if data[position] == 0xFF and size - position < 4 else 0
        if position + length > size:
            return position + length - size
        position += length
    return 0
