"""The official `ModelMetrics` protobuf message, built from its definition at import time.

Building the descriptor here (rather than shipping protoc output) keeps the project
independent of the protobuf release that generated code would pin. The definition is
the official one (nasbench/lib/model_metrics.proto):

    syntax = "proto2";
    package nasbench;
    message ModelMetrics {
      repeated EvaluationData evaluation_data = 1;
      optional int32 trainable_parameters = 2;
      optional double total_time = 3;
    }
    message EvaluationData {
      optional double current_epoch = 1;
      optional double training_time = 2;
      optional double train_accuracy = 3;
      optional double validation_accuracy = 4;
      optional double test_accuracy = 5;
      optional string checkpoint_path = 6;
    }
"""

from __future__ import annotations

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_OPTIONAL = descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL
_REPEATED = descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED
_DOUBLE = descriptor_pb2.FieldDescriptorProto.TYPE_DOUBLE
_INT32 = descriptor_pb2.FieldDescriptorProto.TYPE_INT32
_STRING = descriptor_pb2.FieldDescriptorProto.TYPE_STRING
_MESSAGE = descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE

# Scalar fields of EvaluationData that the dataset stores, in HDF5 order.
EVALUATION_FIELDS = ("training_time", "train_accuracy", "validation_accuracy", "test_accuracy")


def _build_file() -> descriptor_pb2.FileDescriptorProto:
    file = descriptor_pb2.FileDescriptorProto(name="nasbench/model_metrics.proto", package="nasbench", syntax="proto2")
    evaluation = file.message_type.add(name="EvaluationData")
    for number, name in enumerate(("current_epoch", "training_time", *EVALUATION_FIELDS[1:]), start=1):
        evaluation.field.add(name=name, number=number, label=_OPTIONAL, type=_DOUBLE)
    evaluation.field.add(name="checkpoint_path", number=6, label=_OPTIONAL, type=_STRING)
    metrics = file.message_type.add(name="ModelMetrics")
    metrics.field.add(
        name="evaluation_data", number=1, label=_REPEATED, type=_MESSAGE, type_name=".nasbench.EvaluationData"
    )
    metrics.field.add(name="trainable_parameters", number=2, label=_OPTIONAL, type=_INT32)
    metrics.field.add(name="total_time", number=3, label=_OPTIONAL, type=_DOUBLE)
    return file


_pool = descriptor_pool.DescriptorPool()
_pool.Add(_build_file())
ModelMetrics = message_factory.GetMessageClass(_pool.FindMessageTypeByName("nasbench.ModelMetrics"))
EvaluationData = message_factory.GetMessageClass(_pool.FindMessageTypeByName("nasbench.EvaluationData"))
