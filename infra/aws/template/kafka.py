"""The Kafka transport on AWS (``Transport=MSK``): an MSK Serverless cluster with IAM access control
in a private network of its own, the Aggregator's MSK event source mapping, Firehose reading the
topic, and what producers, the Aggregator and Firehose may do on the cluster.

* **Why MSK Serverless.** Firehose reads MSK provisioned and Serverless clusters alike through
  private bootstrap brokers: IAM access control, and a cluster policy that lets
  ``firehose.amazonaws.com`` create its (managed, PrivateLink) VPC connection. Serverless takes
  IAM only, TLS only, three replicas, no brokers to size.
* **Network.** A VPC with one private subnet in each of three zones, no internet gateway or NAT:
  MSK Serverless needs subnets in two zones at least. The mapping runs in provisioned mode
  (``ProvisionedPollerConfig``, which Kafka's retries, bisection and partial-batch answers
  need anyway), so its pollers need no Lambda or STS endpoints in the VPC; they reach the brokers
  through ENIs with the cluster's security group. That group admits the IAM listener (9098) only
  from itself (the pollers' ENIs) and from ``KafkaClientSecurityGroup`` (producers in the VPC);
  Firehose comes in over its own VPC connection. Flow logs go to an encrypted log group.
* **Topic.** MSK has no CloudFormation resource for topics: create it once after the stack
  (docs/deploy.md, "Kafka (Transport=MSK)"), with ``KAFKA_PARTITIONS`` partitions, from a client
  in the VPC.
* **IAM.** ``kafka-cluster:*`` actions on the cluster, the topic and the consumer group by ARN
  (``arn:aws:kafka:<region>:<account>:{cluster,topic,group}/<name>/<uuid>[/<topic|group>]``).
"""

from __future__ import annotations

from typing import Any

from alleycat.resources import KAFKA_AGGREGATOR
from alleycat.settings import Settings
from infra.aws.template.conditions import IS_MSK, when
from infra.aws.template.iam import stmt
from infra.aws.template.intrinsics import att, ref, sub
from infra.aws.template.mappings import dead_letter_queue_name

CLUSTER = "KafkaCluster"
CLUSTER_SG = "KafkaClusterSecurityGroup"
CLIENT_SG = "KafkaClientSecurityGroup"
SUBNETS = ("KafkaSubnetA", "KafkaSubnetB", "KafkaSubnetC")
IAM_PORT = 9098  # MSK's listener for IAM access control (TLS)
VPC_CIDR = "10.42.0.0/16"
SUBNET_CIDRS = ("10.42.0.0/20", "10.42.16.0/20", "10.42.32.0/20")
TOPIC = Settings.kafka_topic  # the local stack's default topic
KAFKA_PARTITIONS = 4  # as the Kinesis variant's default ShardCount
DEFAULT_KAFKA_WINDOW_MS = 500  # Lambda's batching window for Kafka when none is set
POLLERS = (1, 2)  # ProvisionedPollerConfig: MinimumPollers, MaximumPollers

# What the Aggregator's poller and Firehose need on the cluster, the topic and the group.
ESM_CLUSTER = ["kafka:DescribeClusterV2", "kafka:GetBootstrapBrokers"]
ESM_KAFKA = {
    "cluster": ["kafka-cluster:Connect", "kafka-cluster:DescribeClusterDynamicConfiguration"],
    "topic": ["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"],
    "group": ["kafka-cluster:AlterGroup", "kafka-cluster:DescribeGroup"],
}
ESM_NETWORK_DESCRIBE = [
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
]
PRODUCER_KAFKA = {
    "cluster": ["kafka-cluster:Connect"],
    "topic": ["kafka-cluster:DescribeTopic", "kafka-cluster:WriteData"],
    # the idempotent producer (enable_idempotence) asks for a producer id
    "cluster_idempotent": ["kafka-cluster:WriteDataIdempotently"],
}


def _name_parts() -> dict[str, Any]:
    """The cluster's name and uuid, from its ARN (``...:cluster/<name>/<uuid>``)."""
    parts = {"Fn::Split": ["/", ref(CLUSTER)]}
    return {"ClusterName": {"Fn::Select": [1, parts]}, "ClusterUuid": {"Fn::Select": [2, parts]}}


def kafka_arn(kind: str, name: str = "") -> dict[str, Any]:
    """The ARN of the cluster's topic or group ``name`` (``kind`` is topic or group)."""
    account = "arn:${AWS::Partition}:kafka:${AWS::Region}:${AWS::AccountId}"
    text = f"{account}:{kind}/${{ClusterName}}/${{ClusterUuid}}/{name}"
    return {"Fn::Sub": [text, _name_parts()]}


def _kafka_statements(actions: dict[str, list[str]], group: str | None, prefix: str) -> list[dict[str, Any]]:
    out = [stmt(actions["cluster"], [ref(CLUSTER)], f"{prefix}Cluster")]
    out.append(stmt(actions["topic"], [kafka_arn("topic", TOPIC)], f"{prefix}Topic"))
    if group is not None:
        out.append(stmt(actions["group"], [kafka_arn("group", group)], f"{prefix}Group"))
    return out


def aggregator_statements() -> list[dict[str, Any]]:
    """The Aggregator's execution role with the MSK mapping (Lambda's poller uses it): find the
    brokers, make its ENIs in the cluster's subnets with the cluster's group, read the topic as
    its consumer group."""
    subnet_arns = [
        sub(f"arn:${{AWS::Partition}}:ec2:${{AWS::Region}}:${{AWS::AccountId}}:subnet/${{{s}}}") for s in SUBNETS
    ]
    eni = sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:network-interface/*")
    sg = sub(
        f"arn:${{AWS::Partition}}:ec2:${{AWS::Region}}:${{AWS::AccountId}}:security-group/${{{CLUSTER_SG}.GroupId}}"
    )
    return [
        stmt(ESM_CLUSTER, [ref(CLUSTER)], "FindBrokers"),
        *_kafka_statements(ESM_KAFKA, KAFKA_AGGREGATOR.consumer_group_id, "ReadTopic"),
        stmt(["ec2:CreateNetworkInterface"], [eni, sg, *subnet_arns], "PollerInterfaces"),
        stmt(["ec2:DeleteNetworkInterface"], [eni], "PollerInterfacesCleanUp"),
        stmt(ESM_NETWORK_DESCRIBE, ["*"], "PollerNetworkNoResourceLevel"),
    ]


def firehose_statements() -> list[dict[str, Any]]:
    """Firehose with the topic as its source (the Firehose developer guide's MSK source policy)."""
    return [
        stmt(
            ["kafka:DescribeCluster", "kafka:DescribeClusterV2", "kafka:GetBootstrapBrokers", "kafka-cluster:Connect"],
            [ref(CLUSTER)],
            "ReadTopicCluster",
        ),
        stmt(
            [
                "kafka-cluster:DescribeTopic",
                "kafka-cluster:DescribeTopicDynamicConfiguration",
                "kafka-cluster:ReadData",
            ],
            [kafka_arn("topic", TOPIC)],
            "ReadTopic",
        ),
        stmt(["kafka-cluster:DescribeGroup"], [kafka_arn("group", "*")], "ReadTopicGroups"),
    ]


def producer_statements() -> list[dict[str, Any]]:
    return [
        stmt(ESM_CLUSTER, [ref(CLUSTER)], "FindBrokers"),
        stmt(PRODUCER_KAFKA["cluster"] + PRODUCER_KAFKA["cluster_idempotent"], [ref(CLUSTER)], "ConnectCluster"),
        stmt(PRODUCER_KAFKA["topic"], [kafka_arn("topic", TOPIC)], "WriteTopic"),
    ]


def firehose_source() -> dict[str, Any]:
    return {
        "MSKClusterARN": ref(CLUSTER),
        "TopicName": TOPIC,
        "AuthenticationConfiguration": {"Connectivity": "PRIVATE", "RoleARN": att("FirehoseRole")},
        # by default Firehose starts at the time it became active; the epoch: from the earliest offset
        "ReadFromTimestamp": "1970-01-01T00:00:00Z",
    }


def event_source_mapping() -> dict[str, Any]:
    """The Aggregator's MSK mapping (``AggregatorKafkaMapping``), as the local one runs it."""
    m = KAFKA_AGGREGATOR
    props: dict[str, Any] = {
        "FunctionName": ref(f"{m.name}Function"),
        "EventSourceArn": ref(CLUSTER),
        "Topics": [TOPIC],
        "AmazonManagedKafkaEventSourceConfig": {"ConsumerGroupId": m.consumer_group_id},
        "StartingPosition": m.starting_position,
        "BatchSize": m.batch_size,
        "MaximumRetryAttempts": m.maximum_retry_attempts,
        "MaximumRecordAgeInSeconds": m.maximum_record_age_s,
        "BisectBatchOnFunctionError": m.bisect_on_error,
        "DestinationConfig": {"OnFailure": {"Destination": att(dead_letter_queue_name(m))}},
        "ProvisionedPollerConfig": {"MinimumPollers": POLLERS[0], "MaximumPollers": POLLERS[1]},
    }
    if m.report_batch_item_failures:
        props["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
    # whole seconds only; unset, AWS's 500 ms for Kafka (which the local mapping also defaults to)
    if m.max_batching_window_ms != DEFAULT_KAFKA_WINDOW_MS:
        if m.max_batching_window_ms % 1000:
            raise ValueError(f"{m.name}: MaximumBatchingWindowInSeconds takes whole seconds (or AWS's 500 ms unset)")
        props["MaximumBatchingWindowInSeconds"] = m.max_batching_window_ms // 1000
    return {"AggregatorKafkaMapping": when(IS_MSK, {"Type": "AWS::Lambda::EventSourceMapping", "Properties": props})}


def network() -> dict[str, Any]:
    out: dict[str, Any] = {
        "KafkaVpc": when(
            IS_MSK,
            {
                "Type": "AWS::EC2::VPC",
                "Properties": {"CidrBlock": VPC_CIDR, "EnableDnsHostnames": True, "EnableDnsSupport": True},
            },
        ),
    }
    for i, (name, cidr) in enumerate(zip(SUBNETS, SUBNET_CIDRS, strict=True)):
        out[name] = when(
            IS_MSK,
            {
                "Type": "AWS::EC2::Subnet",
                "Properties": {
                    "VpcId": ref("KafkaVpc"),
                    "CidrBlock": cidr,
                    "AvailabilityZone": {"Fn::Select": [i, {"Fn::GetAZs": ""}]},
                    "MapPublicIpOnLaunch": False,
                },
            },
        )
    out[CLIENT_SG] = when(
        IS_MSK,
        {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {
                "GroupDescription": "Kafka producers in the VPC: may reach the brokers IAM listener only",
                "VpcId": ref("KafkaVpc"),
                "SecurityGroupEgress": [
                    {
                        "Description": "to the brokers (IAM over TLS)",
                        "IpProtocol": "tcp",
                        "FromPort": IAM_PORT,
                        "ToPort": IAM_PORT,
                        "DestinationSecurityGroupId": ref(CLUSTER_SG),
                    }
                ],
            },
        },
    )
    out[CLUSTER_SG] = when(
        IS_MSK,
        {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {
                "GroupDescription": "MSK Serverless and the Lambda pollers interfaces: the IAM listener only",
                "VpcId": ref("KafkaVpc"),
                # no egress but to itself (below): the pollers' interfaces talk only to the brokers
                "SecurityGroupEgress": [
                    {
                        "Description": "none",
                        "IpProtocol": "icmp",
                        "FromPort": 252,
                        "ToPort": 86,
                        "CidrIp": "127.0.0.1/32",
                    }
                ],
            },
        },
    )
    self_rule = {
        "GroupId": ref(CLUSTER_SG),
        "IpProtocol": "tcp",
        "FromPort": IAM_PORT,
        "ToPort": IAM_PORT,
    }
    out["KafkaClusterClientIngress"] = when(
        IS_MSK,
        {
            "Type": "AWS::EC2::SecurityGroupIngress",
            "Properties": {**self_rule, "SourceSecurityGroupId": ref(CLIENT_SG), "Description": "producers in the VPC"},
        },
    )
    out["KafkaClusterSelfIngress"] = when(
        IS_MSK,
        {
            "Type": "AWS::EC2::SecurityGroupIngress",
            "Properties": {
                **self_rule,
                "SourceSecurityGroupId": ref(CLUSTER_SG),
                "Description": "the Lambda pollers interfaces (they carry the cluster group)",
            },
        },
    )
    out["KafkaClusterSelfEgress"] = when(
        IS_MSK,
        {
            "Type": "AWS::EC2::SecurityGroupEgress",
            "Properties": {
                **self_rule,
                "DestinationSecurityGroupId": ref(CLUSTER_SG),
                "Description": "from the Lambda pollers interfaces to the brokers",
            },
        },
    )
    out["KafkaFlowLogGroup"] = when(
        IS_MSK,
        {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {"RetentionInDays": ref("LogRetentionDays"), "KmsKeyId": att("DataKey")},
        },
    )
    out["KafkaFlowLogRole"] = when(
        IS_MSK,
        {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "Description": "VPC flow logs of the Kafka network: write to their log group",
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                            "Condition": {"StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")}},
                        }
                    ],
                },
                "Policies": [
                    {
                        "PolicyName": "least-privilege",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                stmt(
                                    ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                                    [att("KafkaFlowLogGroup")],
                                    "WriteFlowLogs",
                                )
                            ],
                        },
                    }
                ],
            },
        },
    )
    out["KafkaFlowLog"] = when(
        IS_MSK,
        {
            "Type": "AWS::EC2::FlowLog",
            "Properties": {
                "ResourceId": ref("KafkaVpc"),
                "ResourceType": "VPC",
                "TrafficType": "ALL",
                "LogDestinationType": "cloud-watch-logs",
                "LogGroupName": ref("KafkaFlowLogGroup"),
                "DeliverLogsPermissionArn": att("KafkaFlowLogRole"),
            },
        },
    )
    return out


def cluster() -> dict[str, Any]:
    return {
        CLUSTER: when(
            IS_MSK,
            {
                "Type": "AWS::MSK::ServerlessCluster",
                "Properties": {
                    "ClusterName": sub("${AWS::StackName}-telemetry"),
                    "ClientAuthentication": {"Sasl": {"Iam": {"Enabled": True}}},
                    "VpcConfigs": [{"SubnetIds": [ref(s) for s in SUBNETS], "SecurityGroups": [ref(CLUSTER_SG)]}],
                },
            },
        ),
        # Firehose connects over a VPC connection of its own (private bootstrap brokers)
        "KafkaClusterPolicy": when(
            IS_MSK,
            {
                "Type": "AWS::MSK::ClusterPolicy",
                "Properties": {
                    "ClusterArn": ref(CLUSTER),
                    "Policy": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "FirehoseVpcConnection",
                                "Effect": "Allow",
                                "Principal": {"Service": "firehose.amazonaws.com"},
                                "Action": [
                                    "kafka:CreateVpcConnection",
                                    "kafka:DescribeCluster",
                                    "kafka:DescribeClusterV2",
                                    "kafka:GetBootstrapBrokers",
                                ],
                                "Resource": ref(CLUSTER),
                                "Condition": {"StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")}},
                            }
                        ],
                    },
                },
            },
        ),
    }


def resources() -> dict[str, Any]:
    """The network and the cluster (the mapping is the Aggregator's: ``functions``)."""
    return {**network(), **cluster()}


def outputs() -> dict[str, Any]:
    return {
        "KafkaClusterArn": {"Condition": IS_MSK, "Value": ref(CLUSTER)},
        "KafkaTopic": {"Condition": IS_MSK, "Value": TOPIC},
        "KafkaTopicPartitions": {"Condition": IS_MSK, "Value": str(KAFKA_PARTITIONS)},
        "KafkaClientSubnets": {"Condition": IS_MSK, "Value": {"Fn::Join": [",", [ref(s) for s in SUBNETS]]}},
        "KafkaClientSecurityGroup": {"Condition": IS_MSK, "Value": ref(CLIENT_SG)},
    }
