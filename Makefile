# The two commands a newcomer needs. Both install what they need on first use.
.PHONY: run test setup token

export AWS_REGION ?= us-east-1
export AWS_ACCESS_KEY_ID ?= local
export AWS_SECRET_ACCESS_KEY ?= local
export AWS_EC2_METADATA_DISABLED = true

run: ## start the whole service locally (API, storage, queue, email, schedule)
	scripts/run.sh

# One cargo invocation over the whole workspace: any other selection resolves crate features
# (dev-dependencies included) differently and rebuilds the AWS SDK. Unit tests run per crate;
# the end-to-end tests are cppo-tests' integration tests, which start their own emulator.
test: setup ## unit tests and end-to-end tests against a local emulator
	cargo test --workspace --tests


setup:
	scripts/setup.sh

token: ## print a local bearer token: make token ACCOUNT=111122223333 [TTL=seconds]
	@python3 scripts/mint_token.py "$(ACCOUNT)" "$(TTL)"
