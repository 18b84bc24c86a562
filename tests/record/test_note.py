"""C2SP signed notes, checkpoints and tlog proofs: the spec's own example, an independent
Ed25519 implementation (libsodium through PyNaCl), and refusals of every malformed part."""

from __future__ import annotations

import base64

import nacl.exceptions
import nacl.signing
import pytest

from livepledge.record import note as notes
from livepledge.record.note import NoteError

# c2sp.org/signed-note, "Example"
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = ("This is an example message.\n\n\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tna"
             "gv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n")


def test_the_spec_example_note_verifies_with_the_spec_example_key() -> None:
    verifier = notes.parse_verifier_key(SPEC_VKEY)
    assert notes.open_note(SPEC_NOTE, verifier) == "This is an example message.\n"
    assert verifier.vkey() == SPEC_VKEY


def test_the_spec_example_note_fails_when_one_character_changes() -> None:
    verifier = notes.parse_verifier_key(SPEC_VKEY)
    with pytest.raises(NoteError, match="does not verify"):
        notes.open_note(SPEC_NOTE.replace("example message", "example messagE"), verifier)


def test_a_note_signed_by_another_key_of_the_same_name_is_refused() -> None:
    other = notes.Signer.generate("example.com/foo")
    with pytest.raises(NoteError, match="no signature by"):
        notes.open_note(other.sign("This is an example message.\n"),
                        notes.parse_verifier_key(SPEC_VKEY))


def test_our_signatures_verify_with_libsodium() -> None:
    signer = notes.Signer.generate("livepledge.example/log")
    signed = signer.sign("livepledge.example/session/1\n3\n" + "A" * 43 + "=\n")
    line = signed.splitlines()[-1]
    raw = base64.b64decode(line.split(" ")[2])
    assert raw[:4] == notes.key_id(signer.name, signer.public_key)
    text = signed[:signed.rfind("\n\n") + 1].encode()
    nacl.signing.VerifyKey(signer.public_key).verify(text, raw[4:])  # raises if wrong
    with pytest.raises(nacl.exceptions.BadSignatureError):
        nacl.signing.VerifyKey(signer.public_key).verify(text + b"x", raw[4:])


def test_libsodium_signatures_verify_with_ours() -> None:
    key = nacl.signing.SigningKey.generate()
    public = bytes(key.verify_key)
    name = "witness.example"
    encoded = base64.b64encode(b"\x01" + public).decode()
    vkey = f"{name}+{notes.key_id(name, public).hex()}+{encoded}"
    text = "witness.example/log\n7\n" + base64.b64encode(bytes(32)).decode() + "\n"
    signature = key.sign(text.encode()).signature
    signed = (text + "\n\u2014 " + name + " " +
              base64.b64encode(notes.key_id(name, public) + signature).decode() + "\n")
    assert notes.open_note(signed, notes.parse_verifier_key(vkey)) == text


def test_key_id_is_the_first_four_bytes_of_the_specified_hash() -> None:
    import hashlib
    public = bytes(range(32))
    assert notes.key_id("a.example", public) == hashlib.sha256(
        b"a.example\n\x01" + public).digest()[:4]


def test_signer_key_file_round_trips() -> None:
    signer = notes.Signer.generate("livepledge.example/log")
    text = signer.private_key_text()
    assert text.startswith("PRIVATE+KEY+livepledge.example/log+")
    again = notes.parse_signer_key(text)
    assert again.verifier == signer.verifier


@pytest.mark.parametrize("vkey", [
    "", "example.com/foo", "example.com/foo+530d903a",
    "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
    "example.com/foo+530d903a+AukyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
    "example com+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
    "example.com/foo+530d903a+not base64"])
def test_malformed_verifier_keys_are_refused(vkey: str) -> None:
    with pytest.raises(NoteError):
        notes.parse_verifier_key(vkey)


@pytest.mark.parametrize("signed", [
    "no newline", "text\n", "text\n\n", "text\n\nnot a signature\n",
    "text\n\n\u2014 name !!!\n", "te\x01xt\n\n\u2014 name AAAAAAA=\n"])
def test_malformed_notes_are_refused(signed: str) -> None:
    with pytest.raises(NoteError):
        notes.parse_note(signed)


def test_checkpoint_text_round_trips() -> None:
    checkpoint = notes.Checkpoint("livepledge.example/session/9", 20852163, bytes(range(32)))
    assert checkpoint.text() == ("livepledge.example/session/9\n20852163\n"
                                 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n")
    assert notes.parse_checkpoint(checkpoint.text()) == checkpoint


@pytest.mark.parametrize("text", [
    "origin\n1\n", "origin\n01\n" + "A" * 43 + "=\n", "origin\n-1\n" + "A" * 43 + "=\n",
    "origin\n1\nAAAA\n", "origin\n1\n" + "A" * 43 + "=\n\n", "origin\n1\n" + "A" * 43 + "="])
def test_malformed_checkpoints_are_refused(text: str) -> None:
    with pytest.raises(NoteError):
        notes.parse_checkpoint(text)


def test_tlog_proof_round_trips_in_the_spec_layout() -> None:
    signer = notes.Signer.generate("livepledge.example/log")
    checkpoint = signer.sign(notes.Checkpoint("o", 5, bytes(32)).text())
    proof = notes.TlogProof(3, [bytes(32), bytes([1]) * 32], checkpoint, extra=b"hi")
    text = proof.text()
    assert text.split("\n")[:5] == [
        "c2sp.org/tlog-proof@v1", "extra aGk=", "index 3",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="]
    assert notes.parse_tlog_proof(text) == proof


@pytest.mark.parametrize("text", [
    "c2sp.org/tlog-proof@v1\nindex 1\n", "c2sp.org/tlog-proof@v2\nindex 1\n\nx",
    "c2sp.org/tlog-proof@v1\nindex 01\n\nx", "c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n\nx"])
def test_malformed_tlog_proofs_are_refused(text: str) -> None:
    with pytest.raises(NoteError):
        notes.parse_tlog_proof(text)
