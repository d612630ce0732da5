"""An S3-compatible store for the tests, and readers msma did not write: boto3 makes the
bucket and mirrors a zone to disk, pyarrow's own S3 client reads the datasets in place.

usage:
  s3.py mkbucket ENDPOINT BUCKET
  s3.py mirror ENDPOINT BUCKET PREFIX DIR   copy every object under PREFIX into DIR
  s3.py read ENDPOINT BUCKET PREFIX         rows per dataset, read with pyarrow from S3
  s3.py retire ENDPOINT BUCKET PREFIX REL   move PREFIX/REL to PREFIX/_msma/retired/REL
"""

import os
import sys

import boto3
import pyarrow.dataset as ds
import pyarrow.fs as pafs

CREDENTIALS = {"aws_access_key_id": "msma-test", "aws_secret_access_key": "msma-test", "region_name": "us-east-1"}


def client(endpoint):
    return boto3.client("s3", endpoint_url=endpoint, **CREDENTIALS)


def keys(endpoint, bucket, prefix):
    pages = client(endpoint).get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/")
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def mirror(endpoint, bucket, prefix, out):
    s3 = client(endpoint)
    n = 0
    for key in keys(endpoint, bucket, prefix):
        path = os.path.join(out, key[len(prefix) + 1 :])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        s3.download_file(bucket, key, path)
        n += 1
    print(f"mirrored {n} objects")


def read(endpoint, bucket, prefix):
    scheme, host = endpoint.split("://")
    fs = pafs.S3FileSystem(
        access_key=CREDENTIALS["aws_access_key_id"],
        secret_key=CREDENTIALS["aws_secret_access_key"],
        region=CREDENTIALS["region_name"],
        endpoint_override=host,
        scheme=scheme,
    )
    root = f"{bucket}/{prefix}"
    names = sorted(
        info.base_name
        for info in fs.get_file_info(pafs.FileSelector(root))
        if info.type == pafs.FileType.Directory and not info.base_name.startswith(("_", "."))
    )
    total = 0
    for name in names:
        # pyarrow's discovery skips _msma/ and reads the Hive partitions as columns.
        table = ds.dataset(f"{root}/{name}", filesystem=fs, format="parquet", partitioning="hive").to_table()
        assert "network_id" in table.column_names and "year" in table.column_names, table.column_names
        print(f"{name} {table.num_rows}")
        total += table.num_rows
    print(f"total {total}")


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "mkbucket":
        client(args[0]).create_bucket(Bucket=args[1])
    elif command == "mirror":
        mirror(*args)
    elif command == "read":
        read(*args)
    elif command == "retire":
        endpoint, bucket, prefix, rel = args
        s3 = client(endpoint)
        source = {"Bucket": bucket, "Key": f"{prefix}/{rel}"}
        s3.copy_object(Bucket=bucket, Key=f"{prefix}/_msma/retired/{rel}", CopySource=source)
        s3.delete_object(**source)
    else:
        sys.exit(f"unknown command {command}")
