"""The lake's definitions, at the ground (standard library and pyarrow only).

* ``uris``: ``s3://`` URIs, and where they live on this machine (``resolve``, ``filesystem``).
* ``layout``: where each dataset lives under the lake URI (``LakeLayout``).
* ``location``: a lake as a value (``Lake``: its URI and local root, built at the edge).
* ``schema``: the raw table's columns and row builder (Firehose's Parquet, the Glue table).
* ``catalog``: every table of the lake (the raw zone and the Hudi tables), from which the Glue
  job's columns, the SQL engine's tables and ``sql/ddl`` come.
"""
