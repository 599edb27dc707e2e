"""Provenance in downloaded files: metadata embedded into PNG, JPEG and WebP bytes as they are.

Pure byte surgery on the file's own containers (PNG text chunks, XMP segments and chunks): no
decoding, so no Pillow.
"""

from __future__ import annotations

import math
import re
import struct
import zlib
from collections.abc import Iterator
from xml.sax.saxutils import escape

# XMP properties with a standard home go there, where photo tools look; the rest go into our
# own namespace. The URI only names the namespace (.invalid never resolves).
ATELIER_XMP_NAMESPACE = "https://atelier.invalid/ns/xmp/1.0/"
XMP_STANDARD_PROPERTIES = {
    "title": ("dc", "title"),
    "description": ("dc", "description"),
    "software": ("xmp", "CreatorTool"),
}
XMP_LANGUAGE_ALTERNATIVES = {("dc", "title"), ("dc", "description")}
XMP_NAMESPACES = {
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "atelier": ATELIER_XMP_NAMESPACE,
}
JPEG_XMP_SIGNATURE = b"http://ns.adobe.com/xap/1.0/\x00"
JPEG_EXTENDED_XMP_SIGNATURE = b"http://ns.adobe.com/xmp/extension/\x00"
# A JPEG segment holds 65,533 bytes after its length field, the XMP signature included.
JPEG_XMP_MAX_BYTES = 65_533 - len(JPEG_XMP_SIGNATURE)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_TEXT_CHUNKS = {b"tEXt", b"zTXt", b"iTXt"}
# Characters XML 1.0 cannot carry at all, even escaped.
XML_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
XML_NAME_FORBIDDEN = re.compile(r"[^A-Za-z0-9_.-]")
WEBP_XMP_FLAG = 0x04
WEBP_ALPHA_FLAG = 0x10
# Chunks that come before XMP in an extended WebP (the container's required order).
WEBP_CHUNKS_BEFORE_XMP = {b"VP8X", b"ICCP", b"ANIM", b"ANMF", b"ALPH", b"VP8 ", b"VP8L", b"EXIF"}


def embed_provenance(*, data: bytes, image_format: str, metadata: dict[str, str]) -> bytes:
    """The original file with metadata (prompt, parameters, ...) embedded, pixels untouched.

    PNG: one tEXt chunk per entry (iTXt, UTF-8, when a value is not plain ASCII), keyed by the
    metadata key. JPEG and WebP: one XMP packet, inserted into the file as it is; "Title",
    "Description" and "Software" become dc:title, dc:description and xmp:CreatorTool, other
    keys atelier:<key> ("atelier:provenance" becomes atelier:provenance). Entries already in
    the file under the same keys (a PNG's text, a JPEG's or WebP's XMP) are replaced.

    A JPEG's XMP segment holds 64 kB: beyond that the longest values are cut, ending in "…".
    Raises ValueError when the data is not a file of that format or a key cannot be stored.
    """
    normalized = image_format.lower().replace("jpg", "jpeg")
    if normalized == "png":
        return _embed_png_text(data=data, metadata=metadata)
    if normalized == "jpeg":
        return _embed_jpeg_xmp(data=data, metadata=metadata)
    if normalized == "webp":
        return _embed_webp_xmp(data=data, metadata=metadata)
    raise ValueError(f"Provenance cannot be embedded in {image_format!r} files.")


def _png_chunk(chunk_type: bytes, payload: bytes) -> bytes:
    checksum = zlib.crc32(chunk_type + payload)
    return struct.pack(">I", len(payload)) + chunk_type + payload + struct.pack(">I", checksum)


def _png_keyword(key: str) -> bytes:
    # The PNG specification's keyword rules: 1-79 Latin-1 characters, no edge or double spaces.
    if not 1 <= len(key) <= 79 or key != key.strip() or "  " in key or not key.isprintable():
        raise ValueError(f"{key!r} cannot be a PNG text keyword.")
    try:
        return key.encode("latin-1")
    except UnicodeEncodeError as error:
        raise ValueError(f"{key!r} cannot be a PNG text keyword.") from error


def _embed_png_text(*, data: bytes, metadata: dict[str, str]) -> bytes:
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("The data is not a PNG file.")
    keywords = {key: _png_keyword(key) for key in metadata}
    chunks: list[bytes] = []
    position = len(PNG_SIGNATURE)
    while position < len(data):
        if position + 12 > len(data):
            raise ValueError("The PNG file is truncated.")
        (length,) = struct.unpack(">I", data[position : position + 4])
        chunk_type = data[position + 4 : position + 8]
        end = position + 12 + length
        if end > len(data):
            raise ValueError("The PNG file is truncated.")
        replaced = (
            chunk_type in PNG_TEXT_CHUNKS
            and data[position + 8 : end - 4].split(b"\x00", 1)[0] in keywords.values()
        )
        if not replaced:
            chunks.append(data[position:end])
        position = end
        if chunk_type == b"IEND":
            break
    if not chunks or chunks[0][4:8] != b"IHDR":
        raise ValueError("The PNG file has no header chunk.")

    text_chunks = []
    for key, raw_value in metadata.items():
        # A NUL would end the text early for every reader: the format has no escape for it.
        value = raw_value.replace("\x00", "")
        if value.isascii():
            text_chunks.append(_png_chunk(b"tEXt", keywords[key] + b"\x00" + value.encode()))
        else:
            # Keyword, compression flag and method, empty language tag and translated keyword.
            payload = keywords[key] + b"\x00\x00\x00\x00\x00" + value.encode()
            text_chunks.append(_png_chunk(b"iTXt", payload))
    # Right after the header, so readers that stop at the pixels (Pillow's open) still see it.
    return PNG_SIGNATURE + chunks[0] + b"".join(text_chunks) + b"".join(chunks[1:])


def _xmp_property(key: str) -> tuple[str, str]:
    if standard := XMP_STANDARD_PROPERTIES.get(key.casefold()):
        return standard
    local = key.removeprefix("atelier:")
    local = XML_NAME_FORBIDDEN.sub("_", local) or "_"
    if not (local[0].isalpha() or local[0] == "_"):
        local = f"_{local}"
    return "atelier", local


def _xmp_packet(metadata: dict[str, str]) -> bytes:
    elements = []
    for key, value in metadata.items():
        prefix, local = _xmp_property(key)
        text = escape(XML_FORBIDDEN.sub("", value))
        if (prefix, local) in XMP_LANGUAGE_ALTERNATIVES:
            text = f'<rdf:Alt><rdf:li xml:lang="x-default">{text}</rdf:li></rdf:Alt>'
        elements.append(f"<{prefix}:{local}>{text}</{prefix}:{local}>")
    namespaces = " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in XMP_NAMESPACES.items())
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description rdf:about="" {namespaces}>{"".join(elements)}</rdf:Description>'
        "</rdf:RDF></x:xmpmeta>"
        '<?xpacket end="r"?>'
    ).encode()


def _xmp_packet_within(metadata: dict[str, str], max_bytes: int) -> bytes:
    kept = {key: len(value) for key, value in metadata.items()}
    while True:
        shown = {
            key: value if kept[key] == len(value) else value[: kept[key]] + "…"
            for key, value in metadata.items()
        }
        packet = _xmp_packet(shown)
        excess = len(packet) - max_bytes
        if excess <= 0:
            return packet
        longest = max(kept, key=lambda key: kept[key], default=None)
        if longest is None or kept[longest] == 0:
            raise ValueError("The metadata keys alone do not fit in a JPEG XMP segment.")
        # Cut by the bytes over, converted to characters at this value's own bytes per
        # character (three for Chinese), plus one: it fits within a round or two.
        shown_bytes = len(escape(shown[longest]).encode())
        bytes_per_character = shown_bytes / max(1, len(shown[longest]))
        cut = math.ceil(excess / bytes_per_character) + 1
        kept[longest] = max(0, kept[longest] - cut)


def _embed_jpeg_xmp(*, data: bytes, metadata: dict[str, str]) -> bytes:
    if not data.startswith(b"\xff\xd8"):
        raise ValueError("The data is not a JPEG file.")
    packet = _xmp_packet_within(metadata, JPEG_XMP_MAX_BYTES)
    segment_payload = JPEG_XMP_SIGNATURE + packet
    xmp_segment = b"\xff\xe1" + struct.pack(">H", len(segment_payload) + 2) + segment_payload

    # Walk the application segments that open the file. JFIF (APP0) and Exif (APP1) must come
    # first, so the XMP goes right after them; earlier XMP packets are dropped.
    out = [data[:2]]
    inserted = False
    position = 2
    while position + 4 <= len(data) and data[position] == 0xFF:
        marker = data[position + 1]
        if not (0xE0 <= marker <= 0xEF or marker == 0xFE):
            break
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        end = position + 2 + length
        if length < 2 or end > len(data):
            raise ValueError("The JPEG file is truncated.")
        payload = data[position + 4 : end]
        leads = marker == 0xE0 or (marker == 0xE1 and payload.startswith(b"Exif\x00"))
        if not leads and not inserted:
            out.append(xmp_segment)
            inserted = True
        if not (
            marker == 0xE1 and payload.startswith((JPEG_XMP_SIGNATURE, JPEG_EXTENDED_XMP_SIGNATURE))
        ):
            out.append(data[position:end])
        position = end
    if not inserted:
        out.append(xmp_segment)
    out.append(data[position:])
    return b"".join(out)


def _webp_chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    position = 12
    while position < len(data):
        if position + 8 > len(data):
            raise ValueError("The WebP file is truncated.")
        fourcc = data[position : position + 4]
        (size,) = struct.unpack("<I", data[position + 4 : position + 8])
        end = position + 8 + size + (size & 1)
        if position + 8 + size > len(data):
            raise ValueError("The WebP file is truncated.")
        yield fourcc, data[position:end]
        position = end


def _webp_canvas(fourcc: bytes, chunk: bytes) -> tuple[int, int, bool]:
    """Width, height and whether there is alpha, from a simple WebP's only image chunk."""
    payload = chunk[8:]
    if fourcc == b"VP8L" and len(payload) >= 5 and payload[0] == 0x2F:
        (bits,) = struct.unpack("<I", payload[1:5])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, bool(bits >> 28 & 1)
    if fourcc == b"VP8 " and len(payload) >= 10 and payload[3:6] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", payload[6:10])
        return width & 0x3FFF, height & 0x3FFF, False
    raise ValueError("The WebP file's image data is not VP8 or VP8L.")


def _embed_webp_xmp(*, data: bytes, metadata: dict[str, str]) -> bytes:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ValueError("The data is not a WebP file.")
    chunks = [(fourcc, chunk) for fourcc, chunk in _webp_chunks(data) if fourcc != b"XMP "]
    if not chunks:
        raise ValueError("The WebP file has no image data.")
    first_fourcc, first_chunk = chunks[0]
    if first_fourcc == b"VP8X":
        flags = first_chunk[8] | WEBP_XMP_FLAG
        chunks[0] = (first_fourcc, first_chunk[:8] + bytes([flags]) + first_chunk[9:])
    else:
        # A simple WebP (one VP8 or VP8L chunk) carries no metadata: it becomes an extended one,
        # whose VP8X header repeats the canvas size. The image data itself is not touched.
        width, height, has_alpha = _webp_canvas(first_fourcc, first_chunk)
        flags = WEBP_XMP_FLAG | (WEBP_ALPHA_FLAG if has_alpha else 0)
        header = bytes([flags, 0, 0, 0]) + (width - 1).to_bytes(3, "little")
        header += (height - 1).to_bytes(3, "little")
        chunks.insert(0, (b"VP8X", b"VP8X" + struct.pack("<I", len(header)) + header))

    packet = _xmp_packet(metadata)
    xmp_chunk = b"XMP " + struct.pack("<I", len(packet)) + packet + b"\x00" * (len(packet) & 1)
    after = max(
        (
            position
            for position, (fourcc, _) in enumerate(chunks)
            if fourcc in WEBP_CHUNKS_BEFORE_XMP
        ),
        default=0,
    )
    chunks.insert(after + 1, (b"XMP ", xmp_chunk))
    body = b"WEBP" + b"".join(chunk for _, chunk in chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body
