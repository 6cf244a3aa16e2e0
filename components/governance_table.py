"""The governance record: one DynamoDB table whose keys and indexes come from `governance.schema`."""
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from components.args import ComponentArgs
from components.moves import renamed
from governance import schema

TYPE = "mlgov:index:GovernanceTable"
PREVIOUS_TYPE = "mlgov:governance_table:GovernanceTable"


@dataclass
class GovernanceTableArgs(ComponentArgs):
    kms_key_arn: pulumi.Input[str]
    """Customer-managed key for encryption at rest (required: no AWS-owned key)."""
    table_name: Optional[str] = None
    deletion_protection: Optional[bool] = True
    point_in_time_recovery: Optional[bool] = True


class GovernanceTable(pulumi.ComponentResource):
    name: pulumi.Output[str]
    arn: pulumi.Output[str]
    stream_arn: pulumi.Output[str]

    def __init__(self, name: str, args: GovernanceTableArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(TYPE, name, None, renamed(TYPE, PREVIOUS_TYPE, opts))
        spec = schema.TABLE
        self.table = aws.dynamodb.Table(
            f"{name}-table",
            name=args.table_name,
            billing_mode="PAY_PER_REQUEST",
            hash_key=spec.partition_key,
            range_key=spec.sort_key,
            attributes=[aws.dynamodb.TableAttributeArgs(**a) for a in spec.attribute_definitions()],
            global_secondary_indexes=[
                aws.dynamodb.TableGlobalSecondaryIndexArgs(
                    name=index.name,
                    key_schemas=[
                        aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(attribute_name=index.partition_key, key_type="HASH"),
                        aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(attribute_name=index.sort_key, key_type="RANGE"),
                    ],
                    projection_type="ALL",
                )
                for index in spec.indexes
            ],
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=args.point_in_time_recovery),
            deletion_protection_enabled=args.deletion_protection,
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(enabled=True, kms_key_arn=args.kms_key_arn),
            stream_enabled=True,
            stream_view_type="NEW_AND_OLD_IMAGES",
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.deletion_protection),
        )
        self.name = self.table.name
        self.arn = self.table.arn
        self.stream_arn = self.table.stream_arn
        self.register_outputs({"name": self.table.name, "arn": self.table.arn, "stream_arn": self.table.stream_arn})
