# The two commands a newcomer needs. Both install what they need on first use.
.PHONY: run test gates setup lint package bench sam-build token

export AWS_REGION ?= us-east-1
export AWS_ACCESS_KEY_ID ?= local
export AWS_SECRET_ACCESS_KEY ?= local
export AWS_EC2_METADATA_DISABLED = true

run: ## start the whole service locally (API, storage, queue, email, schedule)
	scripts/run.sh

test: ## format and lint gates, the template's lint, every unit and end-to-end test
	scripts/test.sh

gates: ## cargo fmt --check and cargo clippy -D warnings over every target
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

setup:
	scripts/setup.sh

lint: setup ## cfn-lint the SAM template: no errors, no warnings
	.venv/bin/cfn-lint infra/template.yaml

package: setup ## release Lambda packages: target/lambda/<function>/bootstrap.zip (ARCH=arm64 where installed)
	scripts/package.sh

bench: setup ## build release binaries, run every benchmark: a table and target/bench/results.json
	scripts/bench.sh

sam-build: ## `sam build` as the README gives it (aws-sam-cli in .venv-sam), and check what it built
	scripts/sam_build.sh

token: ## print a local bearer token: make token ACCOUNT=111122223333 [TTL=seconds]
	@python3 scripts/mint_token.py "$(ACCOUNT)" "$(TTL)"
