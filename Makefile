# `sam build` runs `make build-<LogicalId>` here, once per function (BuildMethod: makefile, built
# in source: see samconfig.toml). Each target runs scripts/build-lambdas, whose one cargo
# invocation builds every function, so the dependencies they share compile once: the first
# target does the work and the others find it done.

build-StartJobFunction:
	scripts/build-lambdas --copy start-job "$(ARTIFACTS_DIR)"

build-FlattenDynamoDbFunction:
	scripts/build-lambdas --copy flatten-dynamodb "$(ARTIFACTS_DIR)"

build-ExportRdsFunction:
	scripts/build-lambdas --copy export-rds "$(ARTIFACTS_DIR)"

build-ExportSegmentFunction:
	scripts/build-lambdas --copy export-segment "$(ARTIFACTS_DIR)"

build-LoadWarehouseFunction:
	scripts/build-lambdas --copy load-warehouse "$(ARTIFACTS_DIR)"

build-BuildReportFunction:
	scripts/build-lambdas --copy build-report "$(ARTIFACTS_DIR)"

build-RunQueryFunction:
	scripts/build-lambdas --copy run-query "$(ARTIFACTS_DIR)"

build-RequestApprovalFunction:
	scripts/build-lambdas --copy request-approval "$(ARTIFACTS_DIR)"

build-ApprovalApiFunction:
	scripts/build-lambdas --copy approval-api "$(ARTIFACTS_DIR)"

build-SendReportFunction:
	scripts/build-lambdas --copy send-report "$(ARTIFACTS_DIR)"

.PHONY: build-StartJobFunction build-FlattenDynamoDbFunction build-ExportRdsFunction build-ExportSegmentFunction build-LoadWarehouseFunction build-BuildReportFunction build-RunQueryFunction build-RequestApprovalFunction build-ApprovalApiFunction build-SendReportFunction
