"""`make deploy`: deploy the stack with the SAM CLI, upload the Glue files, start the Glue job,
upload the race page.

Needs AWS credentials (the standard boto3/SAM chain) and `make package` first. Steps:

1. the IoT data endpoint of the account (iot:Data-ATS), for the publisher;
2. ``sam deploy`` of infra/aws/template.yaml (SAM uploads the Lambda code and layer from
   build/package/lambda to its managed bucket), with ArtifactVersion = build/package/glue/VERSION;
3. the Glue files to s3://<ArtifactsBucket>/glue/<ArtifactVersion>/ (the key the job names);
4. a run of the Glue streaming job, unless one is already running (then it says how to restart);
5. the race page's files and its config.json (from the stack's outputs) to the page bucket
   (``infra.aws.page``).

Everything it is configured with comes from its options, parsed once in ``main`` and passed down;
no ALLEYCAT_* setting applies (account, region and credentials are boto3's and SAM's own).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from alleycat.adapters import aws
from alleycat.errors import AlleycatError
from infra.aws.errors import DeployError
from infra.aws.page import page_config, page_files, upload_page
from infra.aws.template.assemble import TEMPLATE_PATH
from infra.aws.template.lake.glue_job import GLUE_EXTRA_PY, GLUE_SCRIPT

REPO = Path(__file__).resolve().parents[2]
GLUE_DIR = REPO / "build" / "package" / "glue"
SHOWN_OUTPUTS = (
    "PageUrl",
    "ApiUrl",
    "UserPoolId",
    "UserPoolClientId",
    "StreamName",
    "TableName",
    "LakeUri",
    "DashboardName",
)


@dataclass(frozen=True)
class DeployOptions:
    stack: str
    sam: str  # the SAM CLI executable
    parameters: tuple[str, ...] = ()  # extra Key=Value template parameters
    start_job: bool = True
    glue_dir: Path = GLUE_DIR  # `make package` output: the Glue files and VERSION


def outputs(stack: str) -> dict[str, str]:
    (desc,) = aws.client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in desc.get("Outputs", [])}


def artifact_version(glue_dir: Path) -> str:
    version_file = glue_dir / "VERSION"
    if not version_file.exists():
        raise DeployError("run `make package` first")
    return version_file.read_text().strip()


def sam_deploy(options: DeployOptions, version: str) -> None:
    endpoint = aws.client("iot").describe_endpoint(endpointType="iot:Data-ATS")["endpointAddress"]
    overrides = [f"ArtifactVersion={version}", f"IotDataEndpoint=https://{endpoint}", *options.parameters]
    # fmt: off
    done = subprocess.run([
        options.sam, "deploy", "--template-file", str(TEMPLATE_PATH), "--stack-name", options.stack,
        "--resolve-s3", "--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND", "--no-fail-on-empty-changeset",
        "--parameter-overrides", *overrides,
    ], check=False)
    # fmt: on
    if done.returncode != 0:
        raise DeployError(f"sam deploy failed (exit {done.returncode})")


def upload_glue_files(glue_dir: Path, bucket: str, version: str) -> None:
    s3 = aws.client("s3")
    for name in (GLUE_SCRIPT, GLUE_EXTRA_PY):
        key = f"glue/{version}/{name}"
        s3.upload_file(str(glue_dir / name), bucket, key)
        print(f"uploaded s3://{bucket}/{key}")


def start_glue_job(job: str, start: bool) -> None:
    """Start the job unless a run is going: that run keeps its old script until it is restarted."""
    glue = aws.client("glue")
    runs = glue.get_job_runs(JobName=job, MaxResults=10)["JobRuns"]
    running = [r["Id"] for r in runs if r["JobRunState"] in ("STARTING", "RUNNING", "WAITING")]
    if running:
        print(f"Glue job {job} is running ({running[0]}); it keeps its old script until restarted:")
        print(f"  aws glue batch-stop-job-run --job-name {job} --job-run-ids {running[0]} && make deploy")
    elif start:
        run_id = glue.start_job_run(JobName=job)["JobRunId"]
        print(f"started Glue job {job}: {run_id}")


def deploy(options: DeployOptions) -> dict[str, str]:
    """The five steps; returns the stack's outputs."""
    version = artifact_version(options.glue_dir)
    files = page_files()  # before anything is deployed: a file of an unknown type stops it here
    sam_deploy(options, version)
    out = outputs(options.stack)
    upload_glue_files(options.glue_dir, out["ArtifactsBucketName"], version)
    start_glue_job(out["GlueJobName"], options.start_job)
    upload_page(aws.client("s3"), out["PageBucketName"], files, page_config(out))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="alleycat")
    parser.add_argument("--sam", default="sam", help="the SAM CLI executable")
    parser.add_argument("--parameter", action="append", default=[], help="extra Key=Value template parameters")
    parser.add_argument("--no-start", action="store_true", help="do not start the Glue job")
    args = parser.parse_args(argv)
    options = DeployOptions(
        stack=args.stack, sam=args.sam, parameters=tuple(args.parameter), start_job=not args.no_start
    )
    try:
        out = deploy(options)
    except AlleycatError as e:
        print(f"deploy: {e}", file=sys.stderr)
        return e.exit_code
    for key in SHOWN_OUTPUTS:
        print(f"{key}: {out.get(key)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
