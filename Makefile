# The two commands a newcomer needs. Both install what they need on first use.
.PHONY: run test setup token

export AWS_REGION ?= us-east-1
export AWS_ACCESS_KEY_ID ?= local
export AWS_SECRET_ACCESS_KEY ?= local
export AWS_EC2_METADATA_DISABLED = true

run: ## start the whole service locally (API, storage, queue, email, schedule)
	scripts/run.sh

# Every cargo command selects the whole workspace, so all of them resolve the same crate
# features and share one build of the AWS SDK instead of rebuilding it per selection.
test: setup ## unit tests, then end-to-end tests against a local emulator
	cargo test --workspace --lib --bins
	cargo test --workspace --test '*'


setup:
	scripts/setup.sh

token: ## print a local bearer token: make token ACCOUNT=111122223333 [TTL=seconds]
	@python3 scripts/mint_token.py "$(ACCOUNT)" "$(TTL)"
