"""The tfrecord reader: framing, CRCs, decoding, and errors that locate the bad record."""

import base64
import json
import struct

import pytest

from predictor.data.records import RecordError, frame, read_records
from tests.tfrecords import GOOD_METRICS, payload, write


def offset_of(index):
    return sum(len(frame(payload())) for _ in range(index))


def test_reads_the_real_sample(sample_tfrecord):
    records = list(read_records(sample_tfrecord))
    assert len(records) == 80_094
    assert records[0].module_hash == "00005c142e6f48ac74fdcf73e3439874"
    assert records[0].metrics.trainable_parameters == 8_555_530
    assert [r.index for r in records[:5]] == [0, 1, 2, 3, 4]
    with open(sample_tfrecord, "rb") as file:
        first_length = struct.unpack("<Q", file.read(8))[0]
    assert records[1].offset == 12 + first_length + 4


def test_absent_fields_are_absent_not_zero(sample_tfrecord):
    record = next(read_records(sample_tfrecord))
    final = record.metrics.evaluation_data[2]
    assert final.HasField("validation_accuracy")
    assert not final.HasField("test_accuracy") and not final.HasField("train_accuracy")


def test_json_fallback_parses_other_formatting(tmp_path):
    data = json.dumps(["b" * 32, 12, "010001000", "input,maxpool3x3,output", GOOD_METRICS], separators=(",", ":"))
    (record,) = read_records(write(tmp_path / "f.tfrecord", [data.encode()]))
    assert (record.module_hash, record.epochs, record.raw_operations) == ("b" * 32, 12, "input,maxpool3x3,output")


@pytest.mark.parametrize(
    "bad, problem",
    [
        (b"[not json", "invalid JSON"),
        (payload(metrics="!!!not-base64"), "base64"),
        (payload(metrics=base64.b64encode(b"\xff\xff\xff").decode()), "protobuf"),
        (payload(ops="input,conv5x5-bn-relu,output"), "unknown op"),
        (payload(adjacency="0100"), "not a 3 x 3"),
        (json.dumps(["a" * 32, 108, "0"]).encode(), "expected \\[hash"),
    ],
)
def test_bad_record_is_located(tmp_path, bad, problem):
    path = write(tmp_path / "f.tfrecord", [payload(), payload(), bad, payload()])
    with pytest.raises(RecordError, match=problem) as caught:
        list(read_records(path))
    assert (caught.value.index, caught.value.offset) == (2, offset_of(2))
    assert str(path) in str(caught.value)


def test_data_crc_mismatch(tmp_path):
    path = write(tmp_path / "f.tfrecord", [payload()] * 4)
    raw = bytearray(path.read_bytes())
    raw[offset_of(1) + 12 + 5] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(RecordError, match="data CRC mismatch") as caught:
        list(read_records(path))
    assert (caught.value.index, caught.value.offset) == (1, offset_of(1))


def test_truncated_file(tmp_path):
    path = write(tmp_path / "f.tfrecord", [payload()] * 3)
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(RecordError, match="truncated") as caught:
        list(read_records(path))
    assert (caught.value.index, caught.value.offset) == (2, offset_of(2))


def test_not_a_tfrecord_fails_at_the_first_record(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"This is a text file, not a tfrecord at all.\n" * 100_000)
    with pytest.raises(RecordError, match="length CRC") as caught:
        next(read_records(path))
    assert (caught.value.index, caught.value.offset) == (0, 0)
