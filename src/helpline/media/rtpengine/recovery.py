"""Crash-safe rtpengine recordings: a sidecar per recording, converted on the next start.

Theory of operation
-------------------
rtpengine appends every packet of a recorded call to its pcap as it forwards it, but
the WAV call control asked for is only written when the recording stops
(:mod:`helpline.media.rtpengine.pcap`). So that a Helpline killed mid-call loses no
audio, :class:`~helpline.media.rtpengine.backend.HybridBackend` writes a small JSON
*sidecar* per running recording into ``RECORDING_DIR/helpline/``: the rtpengine call
id, the WAV path, the ports of each channel, mono or stereo, the start time and the
node. It is replaced (atomically, ``os.replace``) when a bridge adds a port, and removed
once the WAV is written.

On the next start, before the recordings table is repaired,
:func:`recover_recordings` reads this node's sidecars, deletes their rtpengine calls
(orphans of the dead process: deleting them closes the pcaps), converts each pcap into
its WAV (every packet from the start on) and removes the sidecars and the pcaps. The
row still marked ``recording`` then finds a valid WAV and is settled with its duration
by :func:`helpline.recordings.service.repair_unfinished`. A pcap that cannot be
converted is kept for a person to look at.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from helpline.media.backend import MediaBackendError
from helpline.media.errors import MediaError
from helpline.media.rtpengine.ng import NgClient, NgTimeout
from helpline.media.rtpengine.pcap import pcap_to_wav

log = logging.getLogger(__name__)

SIDECAR_DIR = "helpline"


@dataclass(frozen=True, slots=True)
class Sidecar:
    """What converting a recording's pcap needs, kept on disk while it runs."""

    recording: str
    call_id: str
    path: str
    left_ports: tuple[int, ...]
    right_ports: tuple[int, ...]
    stereo: bool
    start: float
    node: str

    @classmethod
    def parse(cls, text: str) -> Sidecar:
        """A sidecar from its JSON; ``ValueError`` if it is not one."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        try:
            return cls(
                recording=str(data["recording"]),
                call_id=str(data["call_id"]),
                path=str(data["path"]),
                left_ports=tuple(int(p) for p in data["left_ports"]),
                right_ports=tuple(int(p) for p in data["right_ports"]),
                stereo=bool(data["stereo"]),
                start=float(data["start"]),
                node=str(data["node"]),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"incomplete sidecar: {exc}") from None


def sidecar_path(recording_dir: Path, call_id: str, recording: str) -> Path:
    """Where the sidecar of ``recording`` (of rtpengine call ``call_id``) lives."""
    return recording_dir / SIDECAR_DIR / f"{call_id}-{recording}.json"


def write_sidecar(recording_dir: Path, sidecar: Sidecar) -> None:
    """Write (or replace) ``sidecar`` atomically and durably (blocking)."""
    path = sidecar_path(recording_dir, sidecar.call_id, sidecar.recording)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    with partial.open("w", encoding="utf-8") as out:
        json.dump(asdict(sidecar), out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, path)


def remove_sidecar(recording_dir: Path, call_id: str, recording: str) -> None:
    """Forget a recording whose WAV is written (blocking)."""
    sidecar_path(recording_dir, call_id, recording).unlink(missing_ok=True)


def call_pcaps(recording_dir: Path, call_id: str) -> list[Path]:
    """rtpengine's pcaps of ``call_id``, in name order."""
    return sorted((recording_dir / "pcaps").glob(f"{call_id}-*.pcap"))


def remove_spool(recording_dir: Path, call_id: str) -> None:
    """Delete rtpengine's pcaps and metadata files of ``call_id`` (blocking)."""
    for spooled in (
        *call_pcaps(recording_dir, call_id),
        *(recording_dir / "metadata").glob(f"rtpengine-meta-{call_id}-*"),
    ):
        spooled.unlink(missing_ok=True)


def _sidecars(recording_dir: Path, node: str) -> list[tuple[Path, Sidecar]]:
    found = []
    for path in sorted((recording_dir / SIDECAR_DIR).glob("*.json")):
        try:
            sidecar = Sidecar.parse(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("unreadable recording sidecar %s left alone: %s", path, exc)
            continue
        if sidecar.node == node:
            found.append((path, sidecar))
    return found


def _convert(recording_dir: Path, sidecar: Sidecar) -> float:
    return pcap_to_wav(
        call_pcaps(recording_dir, sidecar.call_id),
        Path(sidecar.path),
        left_ports=set(sidecar.left_ports),
        right_ports=set(sidecar.right_ports),
        start=sidecar.start,
        stop=math.inf,
        stereo=sidecar.stereo,
    )


async def recover_recordings(recording_dir: Path, *, node: str, ng_address: str | None) -> int:
    """Convert the pcaps of the recordings ``node`` left running when it died into their
    WAVs (deleting their rtpengine calls first when ``ng_address`` answers); how many
    WAVs it wrote. Run once at start, before the recordings table is repaired."""
    found = await asyncio.to_thread(_sidecars, recording_dir, node)
    if not found:
        return 0
    calls = sorted({sidecar.call_id for _, sidecar in found})
    if ng_address is not None:
        await _delete_calls(ng_address, calls)
    written, kept = 0, set()
    for path, sidecar in found:
        try:
            duration = await asyncio.to_thread(_convert, recording_dir, sidecar)
        except (OSError, MediaError) as exc:
            log.warning(
                "recording %s: pcaps of rtpengine call %s not converted, kept: %s",
                sidecar.path,
                sidecar.call_id,
                exc,
            )
            kept.add(sidecar.call_id)
            continue
        log.info(
            "recording %s rebuilt from rtpengine call %s after a crash: %.1f s",
            sidecar.path,
            sidecar.call_id,
            duration,
        )
        path.unlink(missing_ok=True)
        written += 1
    for call in calls:
        if call not in kept:
            await asyncio.to_thread(remove_spool, recording_dir, call)
    return written


async def _delete_calls(ng_address: str, calls: list[str]) -> None:
    host, _, port = ng_address.rpartition(":")
    ng = NgClient(host, int(port))
    await ng.open()
    try:
        for call in calls:
            try:
                await ng.command("delete", call_id=call)
            except NgTimeout:
                log.warning(
                    "rtpengine at %s does not answer: calls left to its timeout", ng_address
                )
                return
            except MediaBackendError:
                continue  # rtpengine forgot the call already
    finally:
        ng.close()
