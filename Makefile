# The two commands a newcomer needs. Both install what they need on first use.
.PHONY: run test setup lint package bench token

export AWS_REGION ?= us-east-1
export AWS_ACCESS_KEY_ID ?= local
export AWS_SECRET_ACCESS_KEY ?= local
export AWS_EC2_METADATA_DISABLED = true

run: ## start the whole service locally (API, storage, queue, email, schedule)
	scripts/run.sh

# One cargo invocation over the whole workspace for the tests: any other selection resolves crate
# features (dev-dependencies included) differently and rebuilds the AWS SDK. Unit tests run per
# crate; the end-to-end tests are cppo-tests' integration tests, which start their own emulator.
# The packages come first: one test starts a packaged function under a Lambda Runtime API.
test: setup lint package ## lint the template, build the Lambda packages, run every test
	cargo test --workspace --tests

setup:
	scripts/setup.sh

lint: setup ## cfn-lint the SAM template: no errors, no warnings
	.venv/bin/cfn-lint infra/template.yaml

package: setup ## release Lambda packages: target/lambda/<function>/bootstrap.zip (ARCH=arm64 where installed)
	scripts/package.sh

bench: setup ## build release binaries, run every benchmark: a table and target/bench/results.json
	scripts/bench.sh

token: ## print a local bearer token: make token ACCOUNT=111122223333 [TTL=seconds]
	@python3 scripts/mint_token.py "$(ACCOUNT)" "$(TTL)"
