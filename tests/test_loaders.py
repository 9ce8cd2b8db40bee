"""Loaders against hostile and malformed files: checked from the directory, bounded memory.

A "bomb" here is a real deflate stream that decompresses to 2 GiB of zeros from a
file of about 2 MB (built from one repeated compressed block, so the test does not
spend seconds compressing); the zip directory declares the true sizes and CRC.
"""

import json
import os
import struct
import time
import tracemalloc
import zlib

import numpy as np
import pytest

from analysis.receptive_fields import ReceptiveFields, reverse_correlation
from analysis.recording import Recording
from stimuli._shared import io as _io
from stimuli.display import Display
from stimuli.resources import MemoryBudgetError, set_memory_budget
from v1model.cnn import CNN, Network, default_cnn_spec

CHUNK = 1 << 24  # 16 MiB of zeros per repeated deflate block
BOMB_CHUNKS = 128  # 2 GiB


def _npy_header(shape, dtype="<f8", version=1, pad_to=64):
    text = repr({"descr": dtype, "fortran_order": False, "shape": tuple(shape)})
    body = text.encode("latin1")
    length = 10 if version == 1 else 12
    body += b" " * (-(length + len(body) + 1) % pad_to) + b"\n"
    size = struct.pack("<H" if version == 1 else "<I", len(body))
    return b"\x93NUMPY" + bytes([version, 0]) + size + body


def _zip(members):
    """A zip archive from ``(name, payload, method, crc, size)`` members, built by hand.

    ``payload`` is the stored data (method 0) or a raw deflate stream (method 8);
    ``crc`` and ``size`` describe the uncompressed data.
    """
    out, central = bytearray(), bytearray()
    for name, payload, method, crc, size in members:
        raw = name.encode()
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0, crc, len(payload),
                           size, len(raw), 0) + raw + payload
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0, crc,
                               len(payload), size, len(raw), 0, 0, 0, 0, 0, offset) + raw
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central),
                      len(out), 0)
    return bytes(out + central + end)


def _stored(name, data):
    return (name, data, 0, zlib.crc32(data), len(data))


def _meta_member(meta):
    value = np.asarray(json.dumps(meta))
    header = _npy_header((), value.dtype.str)
    return _stored("__meta__.npy", header + value.tobytes())


@pytest.fixture(scope="module")
def bomb_member():
    """A member ``name.npy`` holding a float64 array of 2 GiB of zeros, about 2 MB compressed."""

    def make(name, shape=(BOMB_CHUNKS * CHUNK // 8,)):
        header = _npy_header(shape)
        first = zlib.compressobj(9, zlib.DEFLATED, -15)
        head = first.compress(header) + first.flush(zlib.Z_FULL_FLUSH)
        block_c = zlib.compressobj(9, zlib.DEFLATED, -15)
        block = block_c.compress(zeros) + block_c.flush(zlib.Z_FULL_FLUSH)
        tail = zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)
        return (name, head + block * BOMB_CHUNKS + tail, 8, crc(header),
                len(header) + BOMB_CHUNKS * CHUNK)

    zeros = bytes(CHUNK)
    zero_crcs = {}

    def crc(header):
        if header not in zero_crcs:
            value = zlib.crc32(header)
            for _ in range(BOMB_CHUNKS):
                value = zlib.crc32(zeros, value)
            zero_crcs[header] = value
        return zero_crcs[header]

    return make


def _bounded(call, error=ValueError, match=None):
    """Run ``call`` expecting ``error``; return (seconds, peak traced bytes)."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(error, match=match):
            call()
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return elapsed, peak


def test_the_bomb_is_real(bomb_member, tmp_path):
    """The forged member really decompresses to its declared 2 GiB (checked on 32 MiB)."""
    name, payload, _, _, size = bomb_member("x")
    assert len(payload) < 3 * 2**20 and size > 2 * 2**30
    d = zlib.decompressobj(-15)
    head = d.decompress(payload, 32 * 2**20)
    assert head.startswith(b"\x93NUMPY") and len(head) == 32 * 2**20
    assert not any(head[128:])


@pytest.mark.parametrize("case", ["wrong kind", "unexpected key", "over budget"])
def test_decompression_bomb_is_rejected_fast_with_little_memory(bomb_member, tmp_path, case):
    path = tmp_path / "bomb.npz"
    if case == "wrong kind":
        meta, key, match = {"kind": "thing"}, "responses", "holds a 'thing', not a 'recording'"
    elif case == "unexpected key":
        meta = {"kind": "recording", "format_version": 1, "condition_names": [],
                "unit_info_names": [], "meta": {}}
        key, match = "junk", "unexpected array 'junk'"
    else:
        meta = {"kind": "recording", "format_version": 1, "condition_names": [],
                "unit_info_names": [], "meta": {}}
        key, match = "responses", "needs 2.0 GiB, more than the memory budget"
    shape = (BOMB_CHUNKS * CHUNK // 16, 2)
    members = [_meta_member(meta), bomb_member(f"{key}.npy", shape)]
    if key != "responses":
        members.append(_stored("responses.npy", _npy_header((1, 2)) + bytes(16)))
    path.write_bytes(_zip(members))
    assert path.stat().st_size < 3 * 2**20
    previous = set_memory_budget("1 GiB")
    try:
        error = MemoryBudgetError if case == "over budget" else ValueError
        elapsed, peak = _bounded(lambda: Recording.load(path), error, match)
    finally:
        set_memory_budget(previous)
    assert elapsed < 1.0
    assert peak < 100 * 2**20


@pytest.mark.parametrize("case, match", [
    ("v2 header of 4 GiB", r"\.npy header of 4294967295 bytes"),
    ("v1 header of 64 KiB", r"\.npy header of 65535 bytes"),
    ("meta of 1 GiB", "metadata declares"),
])
def test_huge_headers_are_rejected_fast_with_little_memory(tmp_path, case, match):
    path = tmp_path / "huge.npz"
    meta = _meta_member({"kind": "recording", "format_version": 1, "condition_names": [],
                         "unit_info_names": [], "meta": {}})
    if case.startswith("v2"):
        data = b"\x93NUMPY\x02\x00" + struct.pack("<I", 2**32 - 1) + b"{"
        member = ("responses.npy", data, 0, zlib.crc32(data), 2**32 - 1)
        members = [meta, member]
    elif case.startswith("v1"):
        data = b"\x93NUMPY\x01\x00" + struct.pack("<H", 65535) + b"{" * 65535
        members = [meta, _stored("responses.npy", data)]
    else:
        name, data, method, crc, _ = meta
        members = [(name, data, method, crc, 2**30)]
    path.write_bytes(_zip(members))
    elapsed, peak = _bounded(lambda: Recording.load(path), ValueError, match)
    assert elapsed < 1.0
    assert peak < 100 * 2**20


def _recording_file(tmp_path):
    path = tmp_path / "rec.npz"
    Recording({"sf": [1.0, 2.0]}, [[1.0, 2.0], [3.0, 4.0]]).save(path)
    return path


def _rewrite(path, change):
    """Re-save an .npz with ``change(arrays, meta)`` applied (through np.savez, no checks)."""
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(str(arrays.pop("__meta__")))
    change(arrays, meta)
    if "__meta__" not in arrays:
        arrays["__meta__"] = np.asarray(meta if isinstance(meta, str) else json.dumps(meta))
    np.savez_compressed(path, **arrays)


@pytest.mark.parametrize("change, match", [
    (lambda a, m: a.update(__meta__=np.arange(3)), "corrupt metadata: expected a JSON string"),
    (lambda a, m: (m.clear(), m.update(kind=None)), "holds a None"),
    (lambda a, m: a.update(responses=np.ones((2, 2), dtype=complex)), "dtype complex128"),
    (lambda a, m: a.update(responses=np.ones((3, 2))), r"condition_0' has shape \(2,\), "
     r"expected \(3\)"),
    (lambda a, m: a.update(condition_0=np.ones((2, 2))), r"condition_0' has shape \(2, 2\)"),
    (lambda a, m: a.update(responses=np.ones(4)), "responses must have shape"),
    (lambda a, m: a.pop("condition_0"), "no array 'condition_0'"),
    (lambda a, m: m.update(condition_names="sf"), "condition_names must be a list of strings"),
    (lambda a, m: a.update(responses=np.ones((2, 2))[::-1].T.copy(order="F").T),
     None),  # C-order after the transposes: loads
], ids=["meta-array", "kind-none", "complex", "rows", "2d-condition", "1d-responses",
        "missing", "names-not-list", "fine"])
def test_malformed_recordings(tmp_path, change, match):
    path = _recording_file(tmp_path)
    _rewrite(path, change)
    if match is None:
        assert Recording.load(path).responses.shape == (2, 2)
    else:
        with pytest.raises(ValueError, match=match):
            Recording.load(path)


@pytest.mark.parametrize("meta_json, match", [
    ('["kind", "recording"]', "expected a JSON object, got list"),
    ('"recording"', "expected a JSON object, got str"),
    ("{not json", "corrupt metadata"),
    ("null", "expected a JSON object, got NoneType"),
], ids=["list", "string", "garbage", "null"])
def test_non_dict_meta_is_a_clear_error(tmp_path, meta_json, match):
    path = _recording_file(tmp_path)
    _rewrite(path, lambda a, m: a.update(__meta__=np.asarray(meta_json)))
    with pytest.raises(ValueError, match=match):
        Recording.load(path)


def test_fortran_and_object_members_are_rejected(tmp_path):
    path = tmp_path / "f.npz"
    header = _npy_header((2, 2)).replace(b"'fortran_order': False", b"'fortran_order': True ")
    path.write_bytes(_zip([_meta_member({"kind": "recording"}),
                           _stored("responses.npy", header + bytes(32))]))
    with pytest.raises(ValueError, match="Fortran-ordered"):
        Recording.load(path)
    header = _npy_header((2,), "|O")
    path.write_bytes(_zip([_meta_member({"kind": "recording"}),
                           _stored("responses.npy", header + bytes(16))]))
    with pytest.raises(ValueError, match="cannot be loaded without pickle"):
        Recording.load(path)


def test_sizes_must_agree_with_the_directory(tmp_path):
    """A directory that declares fewer bytes than the header describes is forged."""
    path = tmp_path / "forged.npz"
    data = _npy_header((10**6,)) + bytes(80)
    path.write_bytes(_zip([_meta_member({"kind": "recording"}), _stored("responses.npy", data)]))
    with pytest.raises(ValueError, match="declares .* bytes but the header describes 8000000"):
        Recording.load(path)


def test_foreign_members_and_truncation(tmp_path):
    path = tmp_path / "x.npz"
    path.write_bytes(_zip([_meta_member({"kind": "recording"}), _stored("evil.py", b"x")]))
    with pytest.raises(ValueError, match="unexpected member 'evil.py'"):
        Recording.load(path)
    good = _recording_file(tmp_path)
    blob = good.read_bytes()
    good.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ValueError, match="not a readable recording file"):
        Recording.load(good)


# ------------------------------------------------------------------ CNN and receptive fields
@pytest.fixture(scope="module")
def small_cnn():
    return CNN(Network.from_spec(default_cnn_spec(3, conv1_channels=4), rng=0),
               Display((32, 32), pixels_per_degree=16))


@pytest.mark.parametrize("change, match", [
    (lambda a, m: m.pop("spec"), "incomplete CNN file: its metadata has no 'spec'"),
    (lambda a, m: m.pop("display"), "its metadata has no 'display'"),
    (lambda a, m: m.update(spec={"stages": 3}), "invalid CNN architecture"),
    (lambda a, m: m.update(display={"shape": "big"}), "invalid CNN architecture or display"),
    (lambda a, m: a.update(junk=np.ones(3)), r"unexpected \['junk'\]"),
    (lambda a, m: m.update(meta=[1, 2]), "invalid meta"),
    (lambda a, m: m.update(class_names=[1, 2, 3]), "invalid class_names"),
], ids=["no-spec", "no-display", "bad-spec", "bad-display", "extra-weight", "meta", "classes"])
def test_malformed_cnn_files(small_cnn, tmp_path, change, match):
    path = tmp_path / "net.npz"
    small_cnn.save(path)
    _rewrite(path, change)
    with pytest.raises(ValueError, match=match):
        CNN.load(path)


def test_cnn_weights_of_the_wrong_dtype(small_cnn, tmp_path):
    path = tmp_path / "net.npz"
    small_cnn.save(path)
    key = next(iter(small_cnn.network.parameters()))

    def to_int(arrays, meta):
        arrays[key] = arrays[key].astype(np.int32)

    _rewrite(path, to_int)
    with pytest.raises(ValueError, match=f"layer {key} has dtype int32"):
        CNN.load(path)


class _Pixel:
    display, layers, temporal = Display((5, 5), pixels_per_degree=4), ("px",), False

    def responses(self, s, layer):
        return s[:, 2:3, 2]

    def unit_info(self, layer):
        return {}


@pytest.fixture(scope="module")
def rf():
    return reverse_correlation(_Pixel(), "px", n_images=100, rng=0)


@pytest.mark.parametrize("change, match", [
    (lambda a, m: a["maps"].__setitem__((0, 0, 0), np.nan), "maps must be finite"),
    (lambda a, m: a.update(maps=a["maps"].astype(np.complex64)), "dtype complex64"),
    (lambda a, m: a.update(maps=a["maps"][:, :4]), r"'maps' has shape \(1, 4, 5\), expected "
     r"\(1, 5, 5\)"),
    (lambda a, m: a.update(maps=a["maps"][0]), r"maps must have shape \(n_units, rows, cols\)"),
    (lambda a, m: a.update(responsive=np.ones(3, bool)), r"'responsive' has shape \(3,\)"),
    (lambda a, m: a.update(split_half_r=np.array([np.inf])), "split_half_r must be"),
    (lambda a, m: a.update(on_maps=a["maps"]), "on_maps and off_maps come together"),
    (lambda a, m: m.pop("display"), "missing or malformed 'display'"),
], ids=["nan", "complex", "mis-shaped", "2d", "responsive", "inf-r", "on-only", "no-display"])
def test_malformed_receptive_field_files(rf, tmp_path, change, match):
    path = tmp_path / "rf.npz"
    rf.save(path)
    _rewrite(path, change)
    with pytest.raises(ValueError, match=match):
        ReceptiveFields.load(path)


# ------------------------------------------------------------------ saving through links
@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_saving_through_a_symlink_writes_the_target(tmp_path):
    target_dir = tmp_path / "data"
    target_dir.mkdir()
    target = target_dir / "rec.npz"
    link = tmp_path / "link.npz"
    Recording({"sf": [1.0]}, [[1.0]]).save(target)
    link.symlink_to(target)
    Recording({"sf": [2.0]}, [[5.0]]).save(link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert Recording.load(target).responses[0, 0] == 5.0
    assert sorted(p.name for p in target_dir.iterdir()) == ["rec.npz"]  # no temporaries left
    with _io.atomic_open(link) as fh:  # text files too
        fh.write("plain")
    assert link.is_symlink() and target.read_text() == "plain"


# ------------------------------------------------------------------ every metadata field
def _saved_files(tmp_path):
    from v1model.hmax import HMAX, load_prototypes, save_prototypes

    files = {}
    path = tmp_path / "rec.npz"
    Recording({"sf": [1.0, 2.0]}, [[1.0], [2.0]], unit_info={"x": [0.0]}).save(path)
    files[path] = Recording.load
    path = tmp_path / "rf.npz"
    reverse_correlation(_Pixel(), "px", n_images=40, rng=0).save(path)
    files[path] = ReceptiveFields.load
    path = tmp_path / "cnn.npz"
    CNN(Network.from_spec(default_cnn_spec(3, input_size=16, conv1_channels=2,
                                           conv2_channels=2, fc_units=4), rng=0),
        Display((16, 16), 8)).save(path)
    files[path] = CNN.load
    path = tmp_path / "hmax.npz"
    HMAX(Display((64, 64), 32), prototypes=[np.ones((2, 4, 3, 3))]).save(path)
    files[path] = HMAX.load
    path = tmp_path / "protos.npz"
    save_prototypes(path, [np.ones((2, 4, 3, 3))])
    files[path] = load_prototypes
    return files


def _key_paths(meta, prefix=()):
    items = (meta.items() if isinstance(meta, dict)
             else enumerate(meta) if isinstance(meta, list) else [])
    for key, value in items:
        yield (*prefix, key)
        if isinstance(value, (dict, list)) and len(prefix) < 3:
            yield from _key_paths(value, (*prefix, key))


@pytest.mark.slow  # about 1000 loads: 10-30 s
@pytest.mark.filterwarnings("ignore")
def test_malformed_metadata_is_always_a_value_or_type_error(tmp_path):
    """Every metadata field of every saved kind, deleted or replaced by a wrong value."""
    tried = 0
    for path, load in _saved_files(tmp_path).items():
        with np.load(path) as data:
            meta = json.loads(str(data["__meta__"]))
        for keys in _key_paths(meta):
            if keys == ("kind",):
                continue
            for bad in (None, "x", [], {}, 1e300, -1, [1, 2], {"a": 1}, True, "<delete>"):
                def change(arrays, m, keys=keys, bad=bad):
                    target = m
                    for k in keys[:-1]:
                        target = target[k]
                    if bad == "<delete>":
                        target.pop(keys[-1])
                    else:
                        target[keys[-1]] = bad

                bad_path = tmp_path / f"bad-{path.name}"
                bad_path.write_bytes(path.read_bytes())
                _rewrite(bad_path, change)
                tried += 1
                try:
                    load(bad_path)
                except (ValueError, TypeError):
                    pass
    assert tried > 500
