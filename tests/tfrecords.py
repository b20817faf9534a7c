"""Writing small tfrecord files of NAS-Bench-101-style records for the tests."""

import base64
import json

from predictor.data.model_metrics import ModelMetrics
from predictor.data.records import frame

GOOD_METRICS = base64.b64encode(
    ModelMetrics(trainable_parameters=1000, evaluation_data=[{}, {}, {"validation_accuracy": 0.5}]).SerializeToString()
).decode()


def payload(
    module_hash="a" * 32, epochs=108, adjacency="010001000", ops="input,conv3x3-bn-relu,output", metrics=GOOD_METRICS
):
    return json.dumps([module_hash, epochs, adjacency, ops, metrics]).encode()


def write(path, datas):
    with open(path, "wb") as file:
        for data in datas:
            file.write(frame(data))
    return path
