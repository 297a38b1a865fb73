"""A local Firehose delivery stream: Kinesis stream -> transform Lambda -> Parquet in the lake.

It keeps the Firehose contract (docs/design.md, "Local Firehose", lists where it differs):

* ``reader``: reads every shard of the source stream (children after their parents are delivered)
  through the event source runtime's ``KinesisSource``, after its own per-shard checkpoints
  (``checkpoints``: ``<home>/firehose/<name>/checkpoints.json``), advanced only after the objects
  are durably written, so a restart loses and repeats nothing;
* ``buffer``: buffers by size and interval (hints);
* ``invocation``: invokes the transform handler in-process with the real event shape, at most
  ``invocation_mb`` of data an invocation, retries an invocation that raises, and checks every
  answer (recordId, result, base64 data, ``metadata.partitionKeys``);
* ``converter``: checks Ok records against RAW_SCHEMA (record format conversion);
* ``objects``: writes the rows as Parquet under ``raw/dt=/hour=/`` and every failed record under
  ``processing-failed/YYYY/MM/DD/HH/`` in Firehose's error-record format, each object under a
  hidden temporary name, fsynced and renamed into place;
* ``delivery``: ``DeliveryStream``, the loop that ties them together.
"""
