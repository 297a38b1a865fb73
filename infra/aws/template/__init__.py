"""The AWS SAM template (``infra/aws/template.yaml``), generated from the shared definitions.

Everything the local stack stands in for is declared here, and every fact that the local wiring
also uses comes from ``alleycat.resources`` and ``alleycat.lake`` (the event source mappings, the
table, the lake layout, the raw schema, Firehose buffering), so the two wirings cannot drift.
``tests/unit/test_template.py`` checks that the committed template equals this output and lints
it with cfn-lint and ``sam validate``.

    python -m infra.aws.template          # rewrite template.yaml
    python -m infra.aws.template --check  # exit 1 if template.yaml is stale

One module per resource family; ``assemble`` puts them together:

    intrinsics   Ref / GetAtt / Sub in long form          iam        statements, roles, "*" exceptions
    key          the stack's KMS key                      stream     Kinesis stream, producer policy
    table        the DynamoDB table                       mappings   event source mappings, their queues
    functions    functions, Globals, the dependency layer live       IoT Core publishing
    lake/        buckets, catalog + Athena, Firehose, Glue job
    api          REST API, WAF, Cognito, cursor secret    alarms / dashboard   observability
    page         the race page: bucket, CloudFront, sign-in
"""
