"""C2SP text formats: signed notes (Ed25519), tlog checkpoints and tlog proofs.

Pure: no storage, no web. Specifications: c2sp.org/signed-note, c2sp.org/tlog-checkpoint,
c2sp.org/tlog-proof (docs/record.md restates every byte).

- A signed note is a text ending in "\\n", a blank line, then one line per signature:
  "— " (U+2014, space), the key name, a space, base64(key ID (4 bytes, big-endian) || signature).
- An Ed25519 key's ID is SHA-256(name || 0x0A || 0x01 || 32-byte public key)[:4]; its verifier
  key is "name+hex(key ID)+base64(0x01 || public key)".
- A checkpoint's text is the origin line, the tree size in decimal, the base64 root hash, then
  optional non-empty extension lines.
- A tlog proof is "c2sp.org/tlog-proof@v1", an optional "extra <base64>" line, "index <n>", one
  base64 hash per line (the RFC 6962 inclusion path), a blank line, then the signed checkpoint.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = 0x01
SIGNATURE_PREFIX = "\u2014 "
PRIVATE_KEY_PREFIX = "PRIVATE+KEY+"
TLOG_PROOF_HEADER = "c2sp.org/tlog-proof@v1"
MAX_SIGNATURES = 16
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,18}")


class NoteError(ValueError):
    """A note, key, checkpoint or proof that is malformed or does not verify."""


def b64decode(text: str, *, what: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise NoteError(f"{what} is not standard base64") from None


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def check_key_name(name: str) -> str:
    if not name or "+" in name or any(c.isspace() for c in name) or not name.isprintable():
        raise NoteError(f"key name {name!r} must be non-empty, without spaces or '+'")
    return name


def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public_key).digest()[:4]


@dataclass(frozen=True)
class Verifier:
    name: str
    key_id: bytes
    public_key: bytes

    def vkey(self) -> str:
        return f"{self.name}+{self.key_id.hex()}+{b64encode(bytes([ED25519]) + self.public_key)}"

    def verify(self, text: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, text)
        except InvalidSignature:
            return False
        return True


def parse_verifier_key(vkey: str) -> Verifier:
    parts = vkey.strip().split("+", 2)
    if len(parts) != 3:
        raise NoteError("a verifier key is name+keyid+base64key")
    name, hex_id, encoded = parts
    check_key_name(name)
    if not re.fullmatch(r"[0-9a-f]{8}", hex_id):
        raise NoteError("a verifier key's ID is 8 lowercase hex digits")
    key = b64decode(encoded, what="the verifier key")
    if len(key) != 33 or key[0] != ED25519:
        raise NoteError("only Ed25519 verifier keys (type 0x01, 32 bytes) are supported")
    if key_id(name, key[1:]) != bytes.fromhex(hex_id):
        raise NoteError("the verifier key's ID does not match its name and key")
    return Verifier(name, bytes.fromhex(hex_id), key[1:])


@dataclass(frozen=True)
class Signer:
    name: str
    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls, name: str) -> Signer:
        return cls(check_key_name(name), Ed25519PrivateKey.generate())

    @property
    def public_key(self) -> bytes:
        return self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.name, key_id(self.name, self.public_key), self.public_key)

    def sign(self, text: str) -> str:
        """The signed note of `text` (which must end in a newline)."""
        body = check_note_text(text)
        signature = self.private_key.sign(body)
        line = f"{SIGNATURE_PREFIX}{self.name} {b64encode(self.verifier.key_id + signature)}\n"
        return text + "\n" + line

    def private_key_text(self) -> str:
        """The key file's content: PRIVATE+KEY+name+hex(key ID)+base64(0x01 || seed), the
        layout golang.org/x/mod/sumdb/note uses for signer keys."""
        from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

        seed = self.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return (f"{PRIVATE_KEY_PREFIX}{self.name}+{self.verifier.key_id.hex()}+"
                f"{b64encode(bytes([ED25519]) + seed)}\n")


def parse_signer_key(text: str) -> Signer:
    text = text.strip()
    if not text.startswith(PRIVATE_KEY_PREFIX):
        raise NoteError(f"a signer key starts with {PRIVATE_KEY_PREFIX}")
    parts = text[len(PRIVATE_KEY_PREFIX):].split("+", 2)
    if len(parts) != 3:
        raise NoteError("a signer key is PRIVATE+KEY+name+keyid+base64key")
    name, hex_id, encoded = parts
    key = b64decode(encoded, what="the signer key")
    if len(key) != 33 or key[0] != ED25519:
        raise NoteError("only Ed25519 signer keys are supported")
    signer = Signer(check_key_name(name), Ed25519PrivateKey.from_private_bytes(key[1:]))
    if signer.verifier.key_id.hex() != hex_id:
        raise NoteError("the signer key's ID does not match its name and key")
    return signer


def check_note_text(text: str) -> bytes:
    if not text.endswith("\n"):
        raise NoteError("a note's text ends with a newline")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("a note holds no control characters other than newline")
    return text.encode("utf-8")


@dataclass(frozen=True)
class Signature:
    name: str
    key_id: bytes
    signature: bytes


@dataclass(frozen=True)
class Note:
    text: str
    signatures: list[Signature] = field(default_factory=list)


def parse_note(note: str) -> Note:
    """Split a signed note into its text and signature lines (nothing verified yet)."""
    if not note.endswith("\n"):
        raise NoteError("a signed note ends with a newline")
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("a signed note has a blank line before its signatures")
    text, lines = note[:split + 1], note[split + 2:].splitlines()
    check_note_text(text)
    if not lines or len(lines) > MAX_SIGNATURES:
        raise NoteError(f"a signed note has 1 to {MAX_SIGNATURES} signature lines")
    signatures = []
    for line in lines:
        if not line.startswith(SIGNATURE_PREFIX) or line.count(" ") != 2:
            raise NoteError(f"malformed signature line {line[:40]!r}")
        name, encoded = line[len(SIGNATURE_PREFIX):].split(" ")
        raw = b64decode(encoded, what="a signature")
        if len(raw) < 5:
            raise NoteError("a signature is a key ID and at least one byte")
        signatures.append(Signature(check_key_name(name), raw[:4], raw[4:]))
    return Note(text, signatures)


def open_note(note: str, verifier: Verifier) -> str:
    """The note's text, if `verifier`'s key signed it; NoteError otherwise. Signatures by other
    keys are ignored, as the spec requires."""
    parsed = parse_note(note)
    known = [s for s in parsed.signatures
             if s.name == verifier.name and s.key_id == verifier.key_id]
    if not known:
        raise NoteError(f"the note carries no signature by {verifier.name}+"
                        f"{verifier.key_id.hex()}")
    body = parsed.text.encode("utf-8")
    if not all(verifier.verify(body, s.signature) for s in known):
        raise NoteError(f"the signature by {verifier.name} does not verify: the text was "
                        "changed or the signature forged")
    return parsed.text


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        lines = [self.origin, str(self.size), b64encode(self.root_hash), *self.extensions]
        return "\n".join(lines) + "\n"


def parse_checkpoint(text: str) -> Checkpoint:
    if not text.endswith("\n"):
        raise NoteError("a checkpoint's text ends with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3 or any(not line for line in lines):
        raise NoteError("a checkpoint has at least three non-empty lines")
    origin, size, root, *extensions = lines
    if not _DECIMAL.fullmatch(size):
        raise NoteError("a checkpoint's tree size is a decimal without leading zeros")
    root_hash = b64decode(root, what="the checkpoint's root hash")
    if len(root_hash) != 32:
        raise NoteError("a checkpoint's root hash is 32 bytes")
    return Checkpoint(origin, int(size), root_hash, tuple(extensions))


@dataclass(frozen=True)
class TlogProof:
    index: int
    path: list[bytes]
    checkpoint: str  # the signed checkpoint note, verbatim
    extra: bytes | None = None

    def text(self) -> str:
        lines = [TLOG_PROOF_HEADER]
        if self.extra is not None:
            lines.append(f"extra {b64encode(self.extra)}")
        lines.append(f"index {self.index}")
        lines.extend(b64encode(h) for h in self.path)
        return "\n".join(lines) + "\n\n" + self.checkpoint


def parse_tlog_proof(text: str) -> TlogProof:
    head, separator, checkpoint = text.partition("\n\n")
    if not separator:
        raise NoteError("a tlog proof has a blank line before its checkpoint")
    lines = head.split("\n")
    if lines[0] != TLOG_PROOF_HEADER:
        raise NoteError(f"a tlog proof starts with {TLOG_PROOF_HEADER}")
    rest = lines[1:]
    extra = None
    if rest and rest[0].startswith("extra "):
        extra = b64decode(rest.pop(0)[6:], what="the extra data")
    if not rest or not rest[0].startswith("index ") or not _DECIMAL.fullmatch(rest[0][6:]):
        raise NoteError("a tlog proof names its index: 'index <decimal>'")
    path = [b64decode(line, what="a proof hash") for line in rest[1:]]
    if any(len(h) != 32 for h in path):
        raise NoteError("each hash of an inclusion proof is 32 bytes")
    return TlogProof(int(rest[0][6:]), path, checkpoint, extra)
