"""Many saved sessions, fast: the sample sessions (tests/sessions.py) written once by the real writer,
then copied with each copy's header given its own id and start time (and a file name to match), so a
folder of 10 000 sessions takes seconds to make. Every copy reads as its original does.
"""

from __future__ import annotations

import datetime
import json
import tempfile
from pathlib import Path

from tests import sessions

FIRST_START = datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC)


def write_copies(folder: Path, count: int) -> None:
    """`count` sessions in `folder`, one minute apart from `FIRST_START`, the sample's four readable
    sessions in turn."""
    with tempfile.TemporaryDirectory() as scratch:
        originals = [path.read_bytes().split(b"\n", 1) for path in sessions.write_sample(Path(scratch))[:-1]]
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        first, rest = originals[n % len(originals)]
        header = json.loads(first)
        started = FIRST_START + datetime.timedelta(minutes=n)
        header["id"], header["started"] = f"{n:08x}", started.isoformat(timespec="milliseconds")
        line = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode()
        (folder / f"{started:%Y%m%d-%H%M%S}-{header['source']}-{header['id']}.jsonl").write_bytes(line + b"\n" + rest)
