"""Where analysts find the lake: the Glue database and the raw table (columns and partitions from
``alleycat.lake.schema``, partition projection so no crawler is needed), and the Athena workgroup."""

from __future__ import annotations

from typing import Any

from alleycat.lake.schema import RAW_PARTITIONS, glue_columns
from alleycat.resources import GLUE_DATABASE, RAW_TABLE
from infra.aws.template.intrinsics import att, ref, sub
from infra.aws.template.lake.paths import LAKE


def glue_catalog() -> dict[str, Any]:
    location = LAKE.raw
    projection: dict[str, str] = {
        "classification": "parquet",
        "projection.enabled": "true",
        "projection.dt.type": "date",
        "projection.dt.format": "yyyy-MM-dd",
        "projection.dt.range": "2024-01-01,NOW",
        "projection.dt.interval": "1",
        "projection.dt.interval.unit": "DAYS",
        "projection.hour.type": "integer",
        "projection.hour.range": "0,23",
        "projection.hour.digits": "2",
    }
    partitions = "/".join(f"{name}=${{!{name}}}" for name, _ in RAW_PARTITIONS)
    return {
        "GlueDatabase": {
            "Type": "AWS::Glue::Database",
            "Properties": {
                "CatalogId": ref("AWS::AccountId"),
                "DatabaseInput": {"Name": GLUE_DATABASE, "Description": "Alleycat lake: raw telemetry and Hudi tables"},
            },
        },
        "RawTable": {
            "Type": "AWS::Glue::Table",
            "Properties": {
                "CatalogId": ref("AWS::AccountId"),
                "DatabaseName": ref("GlueDatabase"),
                "TableInput": {
                    "Name": RAW_TABLE,
                    "Description": "Firehose output: Parquet, partitioned dt/hour (UTC)",
                    "TableType": "EXTERNAL_TABLE",
                    "Parameters": {**projection, "storage.location.template": sub(f"{location}/{partitions}/")},
                    "PartitionKeys": [{"Name": name, "Type": typ} for name, typ in RAW_PARTITIONS],
                    "StorageDescriptor": {
                        "Columns": glue_columns(),
                        "Location": sub(f"{location}/"),
                        "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                        "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                        "SerdeInfo": {
                            "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
                        },
                    },
                },
            },
        },
    }


def athena() -> dict[str, Any]:
    return {
        "AthenaWorkGroup": {
            "Type": "AWS::Athena::WorkGroup",
            "Properties": {
                "Name": sub("${AWS::StackName}"),
                "Description": "Alleycat analysts: encrypted results, enforced settings, scan cutoff",
                "RecursiveDeleteOption": True,
                "State": "ENABLED",
                "WorkGroupConfiguration": {
                    "EnforceWorkGroupConfiguration": True,
                    "PublishCloudWatchMetricsEnabled": True,
                    "BytesScannedCutoffPerQuery": 10 * 1024**3,
                    "EngineVersion": {"SelectedEngineVersion": "Athena engine version 3"},
                    "ResultConfiguration": {
                        "OutputLocation": sub("s3://${AthenaResultsBucket}/results/"),
                        "EncryptionConfiguration": {"EncryptionOption": "SSE_KMS", "KmsKey": att("DataKey")},
                    },
                },
            },
        },
    }
