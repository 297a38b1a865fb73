"""`make deploy`: deploy the stack with the SAM CLI, upload the Glue files, start the Glue job.

Needs AWS credentials (the standard boto3/SAM chain) and `make package` first. Steps:

1. the IoT data endpoint of the account (iot:Data-ATS), for the publisher;
2. ``sam deploy`` of infra/aws/template.yaml (SAM uploads the Lambda code and layer from
   build/package/lambda to its managed bucket), with ArtifactVersion = build/package/glue/VERSION;
3. the Glue files to s3://<ArtifactsBucket>/glue/<ArtifactVersion>/ (the key the job names);
4. a run of the Glue streaming job, unless one is already running (then it says how to restart).
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

from alleycat.adapters import aws
from infra.aws.build_template import GLUE_EXTRA_PY, GLUE_SCRIPT, TEMPLATE_PATH

REPO = Path(__file__).resolve().parents[2]
GLUE_DIR = REPO / "build" / "package" / "glue"


def outputs(stack: str) -> dict[str, str]:
    (desc,) = aws.client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in desc.get("Outputs", [])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="alleycat")
    parser.add_argument("--sam", default="sam", help="the SAM CLI executable")
    parser.add_argument("--parameter", action="append", default=[], help="extra Key=Value template parameters")
    parser.add_argument("--no-start", action="store_true", help="do not start the Glue job")
    args = parser.parse_args(argv)

    version_file = GLUE_DIR / "VERSION"
    if not version_file.exists():
        raise SystemExit("deploy: run `make package` first")
    version = version_file.read_text().strip()
    endpoint = aws.client("iot").describe_endpoint(endpointType="iot:Data-ATS")["endpointAddress"]
    overrides = [f"ArtifactVersion={version}", f"IotDataEndpoint=https://{endpoint}", *args.parameter]
    # fmt: off
    subprocess.run([
        args.sam, "deploy", "--template-file", str(TEMPLATE_PATH), "--stack-name", args.stack,
        "--resolve-s3", "--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND", "--no-fail-on-empty-changeset",
        "--parameter-overrides", *overrides,
    ], check=True)
    # fmt: on

    out = outputs(args.stack)
    s3 = aws.client("s3")
    for name in (GLUE_SCRIPT, GLUE_EXTRA_PY):
        key = f"glue/{version}/{name}"
        s3.upload_file(str(GLUE_DIR / name), out["ArtifactsBucketName"], key)
        print(f"uploaded s3://{out['ArtifactsBucketName']}/{key}")

    job = out["GlueJobName"]
    runs = aws.client("glue").get_job_runs(JobName=job, MaxResults=10)["JobRuns"]
    running = [r["Id"] for r in runs if r["JobRunState"] in ("STARTING", "RUNNING", "WAITING")]
    if running:
        print(f"Glue job {job} is running ({running[0]}); it keeps its old script until restarted:")
        print(f"  aws glue batch-stop-job-run --job-name {job} --job-run-ids {running[0]} && make deploy")
    elif not args.no_start:
        run_id = aws.client("glue").start_job_run(JobName=job)["JobRunId"]
        print(f"started Glue job {job}: {run_id}")
    for key in ("ApiUrl", "UserPoolId", "UserPoolClientId", "StreamName", "TableName", "LakeUri", "DashboardName"):
        print(f"{key}: {out.get(key)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
