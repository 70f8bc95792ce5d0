//! The functions' HTTPS client. The SDK's default trusts the machine's CA store, which rustls
//! reads and parses file by file at start-up: about 3.5 ms of every cold start, three times the
//! whole of a bare function's init. AWS endpoints chain to Amazon Trust Services' roots (Amazon
//! Root CA 1-4, and Starfield Services Root G2 for older chains), so those are compiled in.

use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider, TlsContext, TrustStore};
use aws_smithy_http_client::Builder;
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// PEM bundle of the roots above, as the Amazon Linux CA store ships them.
pub const AMAZON_TRUST_SERVICES: &[u8] = include_bytes!("amazon-trust-services.pem");

/// The SDK's own rustls client (over ring rather than aws-lc: a smaller binary, fewer relocations
/// at start-up, the same TLS 1.2/1.3 suites AWS endpoints offer), trusting only those roots.
pub fn client() -> SharedHttpClient {
    let trust = TrustStore::empty().with_native_roots(false).with_pem_certificate(AMAZON_TRUST_SERVICES);
    match TlsContext::builder().with_trust_store(trust).build() {
        Ok(tls) => Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).tls_context(tls).build_https(),
        Err(error) => {
            // Cannot happen with this crate's version; the machine's store is correct, only slower.
            tracing::warn!(%error, "compiled-in trust store rejected; using the machine's CA store");
            Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundle_holds_the_five_amazon_trust_services_roots() {
        let pem = std::str::from_utf8(AMAZON_TRUST_SERVICES).unwrap_or_default();
        assert_eq!(pem.matches("-----BEGIN CERTIFICATE-----").count(), 5);
        for root in [
            "Amazon Root CA 1",
            "Amazon Root CA 2",
            "Amazon Root CA 3",
            "Amazon Root CA 4",
            "Starfield Services Root Certificate Authority - G2",
        ] {
            assert!(pem.contains(&format!("# {root}\n")), "{root} missing");
        }
    }

    /// The roots are parsed when the first connection is made (rustls panics on a bad one), so
    /// a request to a closed port must fail as a connection error, not a panic.
    #[tokio::test]
    async fn a_request_parses_the_roots_and_fails_only_to_connect() {
        let sdk = aws_config::SdkConfig::builder()
            .http_client(client())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url("https://127.0.0.1:9")
            .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
                aws_sdk_dynamodb::config::Credentials::for_tests(),
            ))
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let error = aws_sdk_dynamodb::Client::new(&sdk).list_tables().send().await.expect_err("nothing listens on port 9");
        assert!(matches!(error, aws_sdk_dynamodb::error::SdkError::DispatchFailure(_)), "{error:?}");
    }
}
