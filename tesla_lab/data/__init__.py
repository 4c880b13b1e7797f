"""Data: ingestion, sample sets, MNIST IDX files, fitted preprocessing, splits and image augmentation.

>>> from tesla_lab import data
>>> df = data.load("iris")
>>> X, y, info = data.prepare_xy(df, "target")
>>> X_train, X_test, y_train, y_test = data.train_test_split(X, y, stratify=True)
>>> scaler = data.Standardize().fit(X_train)
>>> scaler.transform(X_test).shape
(30, 4)
"""

from tesla_lab.data.augment import Augment, affine_images
from tesla_lab.data.ingest import (
    load,
    load_csv,
    load_json,
    load_mnist_frame,
    load_parquet,
    load_pickle,
    load_sql,
)
from tesla_lab.data.isolated import load_isolated, profile_isolated
from tesla_lab.data.limits import ReadLimits
from tesla_lab.data.mnist import load_mnist, mnist_files, read_idx, write_idx
from tesla_lab.data.prepare import (
    FillMissing,
    LabelEncode,
    MinMaxScale,
    Normalize,
    OneHot,
    Pipeline,
    PixelScale,
    Standardize,
    Transform,
    XYInfo,
    fill_missing,
    one_hot,
    prepare_xy,
    transform_from_dict,
)
from tesla_lab.data.profile import profile_columns
from tesla_lab.data.samples import SampleInfo, list_samples, load_sample, sample_info
from tesla_lab.data.split import split_indices, train_test_split
from tesla_lab.data.stages import DataIngestion, DataPreparation, frame_target, with_target

__all__ = [
    "load",
    "DataIngestion",
    "DataPreparation",
    "frame_target",
    "with_target",
    "load_csv",
    "load_json",
    "load_parquet",
    "load_pickle",
    "load_sql",
    "load_mnist_frame",
    "load_isolated",
    "profile_isolated",
    "profile_columns",
    "ReadLimits",
    "load_sample",
    "list_samples",
    "sample_info",
    "SampleInfo",
    "read_idx",
    "write_idx",
    "load_mnist",
    "mnist_files",
    "Transform",
    "Standardize",
    "MinMaxScale",
    "Normalize",
    "PixelScale",
    "OneHot",
    "LabelEncode",
    "FillMissing",
    "Pipeline",
    "transform_from_dict",
    "fill_missing",
    "one_hot",
    "prepare_xy",
    "XYInfo",
    "train_test_split",
    "split_indices",
    "Augment",
    "affine_images",
]
