"""The lake on AWS: its buckets, the Glue catalog and Athena workgroup, the Firehose delivery
stream that lands raw Parquet, and the Glue streaming job that writes the Hudi tables. Every
prefix comes from ``alleycat.lake`` (``paths``), the same layout the local stack writes."""
