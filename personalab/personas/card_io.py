"""Card files in: detect an imported file's format by content and parse it; Card PNGs out."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import re

import yaml
from PIL import Image, ImageDraw, ImageFont, PngImagePlugin, UnidentifiedImageError

from personalab.errors import PersonaError
from personalab.personas.model import MAX_FILE_BYTES

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CARD_CHUNKS = ("ccv3", "chara")  # ccv3 first: it is the V3 one when a PNG carries both
MAX_PIXELS = 4096 * 4096  # decoding a card image larger than this is refused
PLACEHOLDER_SIZE = (400, 600)
AVATAR_FORMATS = ["PNG", "JPEG", "WEBP", "GIF"]  # never formats that run helpers (EPS)
PNG_MODES = {"1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"}
MAX_NAME_CHARS = 120
MAX_DEPTH = 64  # nesting of parsed JSON/YAML; real cards stay far below
MAX_VALUES = 2_000_000
SPECS = {"chara_card_v2": "card-v2", "chara_card_v3": "card-v3"}
V1_KEYS = {"description", "personality", "scenario", "first_mes", "mes_example"}
PYGMALION = {"char_name": "name", "char_persona": "description", "world_scenario": "scenario",
             "char_greeting": "first_mes", "example_dialogue": "mes_example"}  # fmt: skip
PERSONALAB_KEYS = {"about", "summary", "assistant_role", "interests", "preferences", "goals",
                   "constraints", "seed", "probes", "style"}  # fmt: skip
_CHAT_LINE = re.compile(r"^\s*(?:\d+\s+)?(your|partner['’]s)\s+persona\s*:(.*)$", re.I)
_CHAT_ANY = re.compile(r"^\s*(?:\d+\s+)?(?:your|partner['’]s)\s+persona\s*:", re.I | re.M)
_YAML_NAME = re.compile(r"^name\s*:", re.M)
_NAME_START = re.compile(r"(?:(?:my|his|her|their)\s+)?name\s+(?:is|was)\s+|i\s+am\s+|i'm\s+", re.I)
_SURROGATE = re.compile("[\ud800-\udfff]")


def read_card_file(
    data: bytes, filename: str, notes: list[str]
) -> tuple[str, object, bytes | None]:
    """The file's format (by content), its card data or persona mapping, and a PNG's image."""
    if data[:8] == PNG_SIGNATURE:
        obj, avatar, png_notes = read_png_card(data)
        notes += png_notes
        kind, payload = _classify(_check_shape(obj))
        if kind == "yaml":
            raise PersonaError("the PNG's card chunk holds a persona, not a character card")
        return kind, payload, avatar
    kind, payload = _parse_text(_decode(data), filename, notes)
    return kind, payload, None


def read_png_card(data: bytes) -> tuple[object, bytes, list[str]]:
    """The card JSON in a PNG's ccv3/chara chunk, the image re-encoded without it, and notes."""
    texts, image = _read(data)
    found = {key.lower(): str(value) for key, value in texts.items()}
    found = {key: found[key] for key in CARD_CHUNKS if key in found}
    if not found:
        raise PersonaError(
            "this PNG holds no character card (no 'chara' or 'ccv3' text chunk); "
            "export the card again from the site or app it came from"
        )
    decoded: dict[str, object] = {}
    errors: list[str] = []
    for key, text in found.items():
        try:
            decoded[key] = _decode_chunk(text)
        except PersonaError as exc:
            errors.append(f"'{key}' chunk: {exc}")
    if not decoded:
        raise PersonaError("the PNG's card is unreadable: " + "; ".join(errors))
    # The version comes from the JSON's spec, not the chunk's name: prefer V3 JSON, then ccv3.
    key = min(decoded, key=lambda k: (_spec(decoded[k]) != "chara_card_v3", k != "ccv3"))
    notes = [f"card read from the PNG's '{key}' chunk"]
    notes += [f"ignored the unreadable {error}" for error in errors]
    return decoded[key], image, notes


def write_png_card(chara: str, ccv3: str, avatar: bytes | None, name: str) -> bytes:
    """A PNG of the avatar (or a placeholder with initials) carrying base64 card JSON chunks."""
    image = _avatar_image(avatar) if avatar else placeholder(name)
    info = PngImagePlugin.PngInfo()
    info.add_text("chara", base64.b64encode(chara.encode("utf-8")).decode("ascii"))
    info.add_text("ccv3", base64.b64encode(ccv3.encode("utf-8")).decode("ascii"))
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def placeholder(name: str) -> Image.Image:
    """A 400x600 card image: a colour picked from the name, with the name's initials."""
    digest = hashlib.sha256(name.encode("utf-8", "replace")).digest()
    image = Image.new("RGB", PLACEHOLDER_SIZE, tuple(40 + b % 140 for b in digest[:3]))
    words = [w for w in name.split() if w[0].isalnum()]
    initials = "".join(w[0] for w in words[:2]).upper() or "?"
    font = ImageFont.load_default(size=170)
    width, height = PLACEHOLDER_SIZE
    ImageDraw.Draw(image).text((width // 2, height // 2), initials, "white", font, anchor="mm")
    return image


def _read(data: bytes) -> tuple[dict, bytes]:
    """All text chunks (reading them loads the pixels, so chunks after them count too)."""
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as im:
            _check_pixels(im)
            texts = dict(im.text)
            return texts, _png_bytes(im)
    except PersonaError:
        raise
    except Exception as exc:  # Pillow reports damage as OSError, SyntaxError, ValueError, zlib...
        why = "not an image" if isinstance(exc, UnidentifiedImageError) else exc
        raise PersonaError(f"cannot read this PNG (truncated or damaged?): {why}") from exc


def _avatar_image(avatar: bytes) -> Image.Image:
    try:
        with Image.open(io.BytesIO(avatar), formats=AVATAR_FORMATS) as im:
            _check_pixels(im)
            im.load()
            return im.copy() if im.mode in PNG_MODES else im.convert("RGBA")
    except PersonaError:
        raise
    except Exception as exc:
        raise PersonaError(f"the avatar is not a readable image: {exc}") from exc


def _check_pixels(im: Image.Image) -> None:
    if im.width * im.height > MAX_PIXELS:
        raise PersonaError(
            f"the image is {im.width}x{im.height} pixels; card images may have at most "
            f"{MAX_PIXELS:,} pixels, so scale it down first"
        )


def _png_bytes(im: Image.Image) -> bytes:
    """The first frame as a PNG without text chunks (the card lives in the persona now)."""
    im.seek(0)
    frame = im if im.mode in PNG_MODES else im.convert("RGBA")
    out = io.BytesIO()
    frame.save(out, format="PNG")
    return out.getvalue()


def _decode_chunk(text: str) -> object:
    """Base64 of UTF-8 JSON (plain JSON is accepted too), parsed."""
    raw = text.strip()
    if not raw.startswith("{"):
        try:
            raw = "".join(raw.split())
            raw = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
            raw = raw.decode("utf-8-sig")
        except (binascii.Error, ValueError) as exc:
            raise PersonaError("not base64 of UTF-8 text") from exc
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise PersonaError(f"not valid JSON ({exc})") from exc


def _spec(card: object) -> object:
    return card.get("spec") if isinstance(card, dict) else None


def _decode(data: bytes) -> str:
    """UTF-8 text (a byte-order mark is fine), or a PersonaError saying what the file is."""
    image = {b"\xff\xd8\xff": "JPEG", b"GIF87a": "GIF", b"GIF89a": "GIF"}
    kind = next((k for magic, k in image.items() if data.startswith(magic)), "")
    if kind or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        raise PersonaError(f"this is a {kind or 'WebP'} image; cards are read from PNG or JSON")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise PersonaError("the file is UTF-16 text; save it as UTF-8 and import it again")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PersonaError(
            f"the file is not UTF-8 text (byte {exc.object[exc.start]:#04x} at position "
            f"{exc.start}); save it as UTF-8 and import it again"
        ) from exc
    if "\x00" in text:
        raise PersonaError("the file holds binary data, not a card, description or persona YAML")
    if not text.strip():
        raise PersonaError("the file is empty")
    return text


def _parse_text(text: str, filename: str, notes: list[str]) -> tuple[str, object]:
    """Detect by content: JSON object, PersonaChat lines, persona YAML, else a description."""
    stripped = text.strip()
    yaml_file = filename.lower().endswith((".yaml", ".yml"))
    if stripped[0] in "{[" or filename.lower().endswith(".json"):
        try:
            obj = json.loads(stripped)
        except RecursionError as exc:
            raise PersonaError("the JSON is nested too deeply to be a card") from exc
        except ValueError as exc:
            if not yaml_file:
                raise PersonaError(f"not valid JSON: {exc}") from exc
            obj = _load_yaml(stripped)
        return _classify(_check_shape(obj))
    if _CHAT_ANY.search(text):
        return "personachat", _personachat(text, filename, notes)
    if yaml_file or _YAML_NAME.search(text):
        obj = _load_yaml(text)
        if isinstance(obj, dict):
            return _classify(_check_shape(obj))
        if yaml_file:
            raise PersonaError("the YAML file must be a mapping of persona fields (name, about...)")
    return "text", {"name": _name_in(stripped) or name_from_file(filename), "description": text}


def _load_yaml(text: str) -> object:
    if len(text) > MAX_FILE_BYTES:
        raise PersonaError(f"a persona YAML file may be at most {MAX_FILE_BYTES // 1024} KiB")
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        where = f" (line {exc.problem_mark.line + 1})" if exc.problem_mark else ""
        raise PersonaError(f"not valid YAML: {exc.problem or exc.context}{where}") from exc
    except Exception as exc:  # the YAML parser also raises ValueError, RecursionError...
        raise PersonaError(f"not valid YAML: {exc}") from exc


def _check_shape(obj: object) -> object:
    """Refuse deep nesting, huge numbers of values and unpaired surrogates, before any use."""
    stack, seen = [(obj, 0)], 0
    while stack:
        item, depth = stack.pop()
        seen += 1
        if depth > MAX_DEPTH or seen > MAX_VALUES:
            raise PersonaError("the file's data is nested too deeply or holds too many values")
        if isinstance(item, dict):
            stack.extend((k, depth + 1) for k in item if isinstance(k, str))
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
        elif isinstance(item, str) and _SURROGATE.search(item):
            raise PersonaError("the file holds invalid text (an unpaired surrogate escape)")
    return obj


def _classify(obj: object) -> tuple[str, object]:
    """The format of a parsed JSON/YAML value, told by its fields, and the mapping to read."""
    if isinstance(obj, list):
        raise PersonaError("the file holds a list; a card or persona is one object ({...})")
    if not isinstance(obj, dict):
        raise PersonaError(f"the file holds {type_name(obj)}; a card or persona is an object")
    if "spec" in obj:
        spec = obj["spec"]
        if not isinstance(spec, str) or spec not in SPECS:
            raise PersonaError(
                f"unsupported card spec {str(spec)[:40]!r}; PersonaLab reads chara_card_v2 and "
                "chara_card_v3 cards"
            )
        if not isinstance(obj.get("data"), dict):
            raise PersonaError(f"a {spec} card needs a 'data' object holding its fields")
        return SPECS[spec], obj["data"]
    keys = set(obj)
    if keys & PYGMALION.keys():
        return "pygmalion", obj
    if keys & V1_KEYS and not keys & PERSONALAB_KEYS:
        return "card-v1", obj
    if "name" in keys:
        return "yaml", obj
    raise PersonaError(
        "not a character card or persona: expected 'spec' (Card V2/V3), 'name' and "
        "'description' (Card V1), 'char_name' (Pygmalion) or a PersonaLab persona with a 'name'"
    )


def _personachat(text: str, filename: str, notes: list[str]) -> dict:
    """'your persona:' sentences, made readable; partner lines and dialogue are left out."""
    mine: list[str] = []
    partner = other = 0
    for line in filter(str.strip, text.splitlines()):
        match = _CHAT_LINE.match(line)
        if not match:
            other += 1
        elif match[1].lower() != "your":
            partner += 1
        elif (sentence := _readable(match[2])) and sentence not in mine:
            mine.append(sentence)
    if partner:
        notes.append(f"ignored {partner} partner's persona line(s): they describe the other side")
    if other:
        notes.append(f"ignored {other} line(s) that are not persona sentences")
    if not mine:
        raise PersonaError("the PersonaChat block has no 'your persona:' lines to import")
    named = [m[1] for s in mine if (m := re.match(r"my name is (\w+)", s, re.I))]
    name = named[0].title() if named else name_from_file(filename)
    return {"name": name, "description": " ".join(mine), "persona_sentences": mine}


def _readable(sentence: str) -> str:
    """'i have two dogs .' -> 'I have two dogs.'"""
    text = re.sub(r"\s+([.,!?;:])", r"\1", " ".join(sentence.split()))
    text = re.sub(r"\bi\b", "I", text)
    if not text:
        return ""
    return text[0].upper() + text[1:] + ("" if text[-1] in ".!?" else ".")


def _name_in(text: str) -> str:
    """The name in 'My name is Ana Lee, ...' or 'I am Ana, ...'; '' when there is none."""
    match = _NAME_START.match(text)
    words: list[str] = []
    for word in text[match.end() :].split()[:4] if match else []:
        core = word.rstrip(".,;:!?。，、！？")
        if not core or not core[0].isalpha() or core[0].islower():
            break
        words.append(core)
        if core != word:
            break
    return " ".join(words)[:MAX_NAME_CHARS]


def name_from_file(filename: str) -> str:
    """A name from the file's own name (never a path: only the last part is used)."""
    stem = re.split(r"[\\/]", filename)[-1]
    stem = stem.rsplit(".", 1)[0] if "." in stem[1:] else stem
    return " ".join(re.sub(r"[_.\-]+", " ", stem).split())[:MAX_NAME_CHARS] or "Imported persona"


def type_name(value: object) -> str:
    """How a message names a JSON value's type."""
    kinds = {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "null"}
    return kinds.get(type(value), "a number" if isinstance(value, int | float) else "a value")
